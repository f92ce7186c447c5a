// One-step-delayed DiLoCo (PCCL's python/examples/nanogpt_diloco/async_diloco.py).
//
// At outer step t (every H-th inner step):
//   wait for the background all-reduce of outer step t-1 -> mean delta_{t-1}
//   delta_t = outer - local                 (outer not yet updated)
//   if mean delta_{t-1} is there: outer = OuterOpt(outer, mean delta_{t-1})
//   local = outer                           (t = 1: back to the start point)
//   all-reduce delta_t in the background over the next H inner steps
// so every outer update is one step stale. A missing delayed result (the
// first step, a failure that already surfaced, or a world change since the
// launch) skips that update: every member skips it alike.
//
// State. Replicated: outer.params, the outer optimizer's buffers, replicated
// error-feedback state. Per-peer: local parameters, the in-flight delta,
// residuals. Joiner rule: local = outer, nothing in flight.
#include <memory>
#include <vector>

#include "algo/outer_optimizer.h"
#include "algo/reducer.h"
#include "algo/strategies.h"
#include "algo/outer_strategy.h"

namespace tern::algo {
namespace {

class AsyncDiLoCo final : public OuterStrategy {
 public:
  AsyncDiLoCo(const AsyncDiLoCoOptions& o, std::unique_ptr<Reducer> reducer)
      : OuterStrategy(StrategyConfig(o), o.common), o_(o), reducer_(std::move(reducer)) {}
  ~AsyncDiLoCo() override { DropBackground(); }

  Status AfterOptimizerStep(const StepInfo&) override {
    TERN_RETURN_IF_ERROR(RequireAttached());
    const uint64_t c = step_ + 1, h = static_cast<uint64_t>(o_.sync_every);
    if (c % h != 0) {
      step_ = c;
      return OkStatus();
    }
    const uint64_t t = c / h;
    Result<bool> ready = TakeBackground(static_cast<int64_t>(t - 1));
    if (!ready.ok()) return Failed(ready.status());
    Difference(outer_params_, params_, next_);
    if (*ready) Apply(t - 1);
    CopyInto(params_, outer_params_);
    std::swap(in_flight_, next_);
    Launch(comm_->AllReduceAsync(TensorView::Of(in_flight_), reducer_->Options(common_, 0, t)),
           static_cast<int64_t>(t));
    step_ = c;
    return OkStatus();
  }

  Status Finish() override {
    TERN_RETURN_IF_ERROR(RequireAttached());
    const uint64_t t = step_ / static_cast<uint64_t>(o_.sync_every);
    Result<bool> ready = TakeBackground(static_cast<int64_t>(t));
    if (!ready.ok()) return Failed(ready.status());
    if (*ready) {
      Apply(t);
      CopyInto(params_, outer_params_);
    }
    return OkStatus();
  }


 protected:
  Status OnAttach() override {
    InitOuter(OuterStateBuffers(o_.outer.rule));
    in_flight_.assign(params_.size(), 0.0f);
    next_.assign(params_.size(), 0.0f);
    return OkStatus();
  }

  Status AppendState(std::vector<StateTensor>* out) override {
    return AppendOuterState(out, reducer_.get(), "pseudo_gradient");
  }

 private:
  // The outer step with the averaged delta of outer step `t` (in in_flight_).
  // Adam's step count is t: derived from the replicated step, so a joiner
  // agrees with everyone (a skipped update leaves a gap in the count).
  void Apply(uint64_t t) {
    OuterStep(o_.outer, static_cast<int64_t>(t), in_flight_, outer_params_, state1_, state2_);
    ++stats_.syncs;
  }

  const AsyncDiLoCoOptions o_;
  std::unique_ptr<Reducer> reducer_;
  std::vector<float> in_flight_;  // the background all-reduce's buffer
  std::vector<float> next_;
};

}  // namespace

Result<std::unique_ptr<Strategy>> MakeAsyncDiLoCo(const AsyncDiLoCoOptions& o) {
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<Reducer> reducer, Reducer::Create(o.codec));
  return std::unique_ptr<Strategy>(new AsyncDiLoCo(o, std::move(reducer)));
}

}  // namespace tern::algo
