#include "algo/outer_strategy.h"

#include "algo/outer_optimizer.h"

namespace tern::algo {

Status OuterStrategy::GlobalParameters(std::span<float> out) const {
  TERN_RETURN_IF_ERROR(RequireAttached());
  if (out.size() != outer_params_.size()) return InvalidArgumentError("output size differs");
  CopyInto(out, outer_params_);
  return OkStatus();
}

void OuterStrategy::InitOuter(int state_buffers) {
  outer_params_.assign(params_.begin(), params_.end());
  if (state_buffers >= 1) state1_.assign(params_.size(), 0.0f);
  if (state_buffers >= 2) state2_.assign(params_.size(), 0.0f);
}

Status OuterStrategy::AppendOuterState(std::vector<StateTensor>* out, Reducer* reducer,
                                       const std::string& ef_prefix) {
  out->push_back({"outer.params", true, outer_params_});
  if (!state1_.empty()) out->push_back({"outer.state1", true, state1_});
  if (!state2_.empty()) out->push_back({"outer.state2", true, state2_});
  if (reducer) TERN_RETURN_IF_ERROR(reducer->AppendState(0, params_.size(), ef_prefix, out));
  out->push_back({"model.params", false, params_});
  return OkStatus();
}

Status OuterStrategy::ReinitPerPeer() {
  CopyInto(params_, outer_params_);
  return OkStatus();
}

void DelayedOuterStrategy::InitDelayed() {
  in_flight_.assign(params_.size(), 0.0f);
  next_.assign(params_.size(), 0.0f);
}

Status DelayedOuterStrategy::AfterOptimizerStep(const StepInfo&) {
  TERN_RETURN_IF_ERROR(RequireAttached());
  const uint64_t c = step_ + 1;
  if (c % h_ != 0) {
    step_ = c;
    return OkStatus();
  }
  const uint64_t t = c / h_;
  Result<bool> ready = TakeBackground(static_cast<int64_t>(t - 1));
  if (!ready.ok()) return Failed(ready.status());
  PrepareSend(next_);
  if (*ready) {
    Apply(in_flight_, t - 1);
    ++stats_.syncs;
  } else {
    Skip();
  }
  CopyInto(params_, outer_params_);
  std::swap(in_flight_, next_);
  Launch(comm_->AllReduceAsync(TensorView::Of(in_flight_), reducer_->Options(common_, 0, t)),
         static_cast<int64_t>(t));
  step_ = c;
  return OkStatus();
}

Status DelayedOuterStrategy::Finish() {
  TERN_RETURN_IF_ERROR(RequireAttached());
  const uint64_t t = step_ / h_;
  Result<bool> ready = TakeBackground(static_cast<int64_t>(t));
  if (!ready.ok()) return Failed(ready.status());
  if (*ready) {
    Apply(in_flight_, t);
    ++stats_.syncs;
    CopyInto(params_, outer_params_);
  }
  return OkStatus();
}

}  // namespace tern::algo
