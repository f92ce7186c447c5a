// DiLoCo (and local SGD, its special case with outer SGD at lr 1).
//
// Every H-th inner step (counted by the replicated step): delta = outer -
// local, averaged over the world (through the codec), then the outer
// optimizer updates the fp32 outer parameters and the local parameters
// restart from them. Local SGD is outer = outer - mean(outer - local), i.e.
// the average of the local parameters (to fp32 rounding), which lets a lossy
// codec act on the change since the last average instead of on parameters.
//
// State. Replicated: outer.params, the outer optimizer's buffers, the codec's
// replicated error-feedback state. Per-peer: the model's parameters (local),
// error-feedback residuals, the inner optimizer. Joiner rule: local = outer.
#include <memory>
#include <vector>

#include "algo/outer_optimizer.h"
#include "algo/reducer.h"
#include "algo/strategies.h"
#include "algo/outer_strategy.h"

namespace tern::algo {
namespace {

class DiLoCo final : public OuterStrategy {
 public:
  DiLoCo(const StrategyConfig& config, const CommonStrategyOptions& common, int h,
         OuterOptimizerOptions outer, std::unique_ptr<Reducer> reducer)
      : OuterStrategy(config, common), h_(h), outer_(outer), reducer_(std::move(reducer)) {}

  Status AfterOptimizerStep(const StepInfo&) override {
    TERN_RETURN_IF_ERROR(RequireAttached());
    const uint64_t c = step_ + 1;
    if (c % h_ != 0) {
      step_ = c;
      return OkStatus();
    }
    const uint64_t t = c / h_;  // 1-based outer step
    Difference(outer_params_, params_, delta_);
    Status s = Counted(reducer_->Options(common_, 0, t), [&](const AllReduceOptions& o) {
      return comm_->AllReduce(TensorView::Of(delta_), o);
    });
    if (!s.ok()) return Failed(s);
    OuterStep(outer_, static_cast<int64_t>(t), delta_, outer_params_, state1_, state2_);
    CopyInto(params_, outer_params_);
    step_ = c;
    ++stats_.syncs;
    return OkStatus();
  }


 protected:
  Status OnAttach() override {
    InitOuter(OuterStateBuffers(outer_.rule));
    delta_.assign(params_.size(), 0.0f);
    return OkStatus();
  }

  Status AppendState(std::vector<StateTensor>* out) override {
    return AppendOuterState(out, reducer_.get(), "pseudo_gradient");
  }

 private:
  const uint64_t h_;
  const OuterOptimizerOptions outer_;
  std::unique_ptr<Reducer> reducer_;
  std::vector<float> delta_;
};

}  // namespace

Result<std::unique_ptr<Strategy>> MakeDiLoCo(const DiLoCoOptions& o) {
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<Reducer> reducer, Reducer::Create(o.codec));
  return std::unique_ptr<Strategy>(
      new DiLoCo(StrategyConfig(o), o.common, o.sync_every, o.outer, std::move(reducer)));
}

Result<std::unique_ptr<Strategy>> MakeLocalSgd(const LocalSgdOptions& o) {
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<Reducer> reducer, Reducer::Create(o.codec));
  OuterOptimizerOptions averaging{.rule = OuterRule::kSgd, .lr = 1.0f, .momentum = 0.0f};
  return std::unique_ptr<Strategy>(
      new DiLoCo(StrategyConfig(o), o.common, o.sync_every, averaging, std::move(reducer)));
}

}  // namespace tern::algo
