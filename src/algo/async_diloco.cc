// One-step-delayed DiLoCo (PCCL's python/examples/nanogpt_diloco/async_diloco.py).
//
// At outer step t (every H-th inner step):
//   wait for the background all-reduce of outer step t-1 -> mean delta_{t-1}
//   delta_t = outer - local                 (outer not yet updated)
//   if mean delta_{t-1} is there: outer = OuterOpt(outer, mean delta_{t-1})
//   local = outer                           (t = 1: back to the start point)
//   all-reduce delta_t in the background over the next H inner steps
// so every outer update is one step stale (DelayedOuterStrategy). A missing
// delayed result (the first step, a failure that already surfaced, or a
// world change since the launch) skips that update: every member skips it
// alike.
//
// State. Replicated: outer.params, the outer optimizer's buffers, replicated
// error-feedback state. Per-peer: local parameters, the in-flight delta,
// residuals. Joiner rule: local = outer, nothing in flight.
#include <memory>
#include <vector>

#include "algo/outer_optimizer.h"
#include "algo/outer_strategy.h"
#include "algo/strategies.h"

namespace tern::algo {
namespace {

class AsyncDiLoCo final : public DelayedOuterStrategy {
 public:
  AsyncDiLoCo(const AsyncDiLoCoOptions& o, std::unique_ptr<Reducer> reducer)
      : DelayedOuterStrategy(StrategyConfig(o), o.common, o.sync_every, std::move(reducer)),
        outer_(o.outer) {}

 protected:
  Status OnAttach() override {
    InitOuter(OuterStateBuffers(outer_.rule));
    InitDelayed();
    return OkStatus();
  }

  Status AppendState(std::vector<StateTensor>* out) override {
    return AppendOuterState(out, reducer_.get(), "pseudo_gradient");
  }

  void PrepareSend(std::span<float> send) override { Difference(outer_params_, params_, send); }

  // Adam's step count is t: derived from the replicated step, so a joiner
  // agrees with everyone (a skipped update leaves a gap in the count).
  void Apply(std::span<float> mean_delta, uint64_t t) override {
    OuterStep(outer_, static_cast<int64_t>(t), mean_delta, outer_params_, state1_, state2_);
  }

 private:
  const OuterOptimizerOptions outer_;
};

}  // namespace

Result<std::unique_ptr<Strategy>> MakeAsyncDiLoCo(const AsyncDiLoCoOptions& o) {
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<Reducer> reducer, Reducer::Create(o.codec));
  return std::unique_ptr<Strategy>(new AsyncDiLoCo(o, std::move(reducer)));
}

}  // namespace tern::algo
