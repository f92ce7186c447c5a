// OuterStrategy: what the strategies with fp32 outer parameters share
// (DiLoCo, local SGD, Streaming DiLoCo, async DiLoCo, CO2). It holds the
// replicated outer parameters and the outer optimizer's buffers, lists them
// as state ("outer.params", "outer.state1", "outer.state2"), reports the
// outer parameters as the ones to evaluate, and applies the joiner rule
// local = outer.
//
// Thread-compatible.
#ifndef TERN_ALGO_OUTER_STRATEGY_H_
#define TERN_ALGO_OUTER_STRATEGY_H_

#include <memory>
#include <span>
#include <vector>

#include "algo/reducer.h"
#include "algo/strategy_base.h"

namespace tern::algo {

class OuterStrategy : public StrategyBase {
 public:
  using StrategyBase::StrategyBase;

  Status GlobalParameters(std::span<float> out) const override;

 protected:
  // Outer parameters = the current parameters; `state_buffers` (0..2)
  // zeroed buffers of the same size for the outer optimizer.
  void InitOuter(int state_buffers);
  // outer.params, outer.state1/2 (replicated), the reducer's error-feedback
  // state of tensor 0 named "<ef_prefix>.ef.*" (if `reducer`), and the
  // model's parameters (per-peer).
  Status AppendOuterState(std::vector<StateTensor>* out, Reducer* reducer,
                          const std::string& ef_prefix);
  Status ReinitPerPeer() override;  // local = outer

  // A slice of a state buffer (empty if the buffer is unused).
  static std::span<float> Slice(std::vector<float>& v, size_t offset, size_t n) {
    return v.empty() ? std::span<float>() : std::span<float>(v).subspan(offset, n);
  }

  std::vector<float> outer_params_, state1_, state2_;
};

// The one-step-delayed outer step shared by async DiLoCo and CO2. At outer
// step t (every H-th inner step):
//   take the background result of outer step t-1 (strategy_base.h)
//   PrepareSend(send)                  what this peer contributes now
//   result there ? Apply(result, t-1) : Skip()
//   local = outer
//   average `send` in the background over the next H inner steps
// Finish() applies the last result. Subclasses allocate nothing for this:
// the two buffers are sized by InitDelayed().
class DelayedOuterStrategy : public OuterStrategy {
 public:
  DelayedOuterStrategy(const StrategyConfig& config, const CommonStrategyOptions& common,
                       int sync_every, std::unique_ptr<Reducer> reducer)
      : OuterStrategy(config, common), h_(static_cast<uint64_t>(sync_every)),
        reducer_(std::move(reducer)) {}
  ~DelayedOuterStrategy() override { DropBackground(); }

  Status AfterOptimizerStep(const StepInfo& info) final;
  Status Finish() final;

 protected:
  void InitDelayed();
  virtual void PrepareSend(std::span<float> send) = 0;
  // `result`: the averaged send of outer step t (the subclass may overwrite it).
  virtual void Apply(std::span<float> result, uint64_t t) = 0;
  virtual void Skip() {}

  const uint64_t h_;
  std::unique_ptr<Reducer> reducer_;

 private:
  std::vector<float> in_flight_;  // the background all-reduce's buffer
  std::vector<float> next_;
};

}  // namespace tern::algo

#endif  // TERN_ALGO_OUTER_STRATEGY_H_
