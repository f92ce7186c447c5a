// StrategyHooks: the trainer's step hooks (step_hooks.h) driven by a
// tern::Strategy (tern/strategy.h), so the `train` module's Trainer runs
// any strategy of the `algo` module.
//
// The mapping is one to one: AfterBackward, AfterOptimizerStep and
// ZerothOrderStep call the strategy's hooks with the step, attempt and
// learning rate of the trainer's StepContext. A hook error leaves the
// trainer's step pending (Trainer::Step returns it); the caller reaches a
// safe point (safe_point.h) and calls Step() again, which re-runs the
// failed hook with attempt + 1, as strategy.h's retry loop prescribes.
//
// ModelBuffersOf() describes a Trainer's model to Strategy::Attach: the flat
// buffers and one ParamSlice per parameter tensor (so Streaming DiLoCo can
// cut fragments at tensor boundaries).
//
//   StrategyHooks hooks(strategy.get());
//   TERN_RETURN_IF_ERROR(strategy->Attach(comm, world, ModelBuffersOf(*trainer)));
//   trainer->SetStepHooks(&hooks);
//
// Thread-safety: as the strategy (one thread at a time).
#ifndef TERN_TRAIN_STRATEGY_HOOKS_H_
#define TERN_TRAIN_STRATEGY_HOOKS_H_

#include "tern/strategy.h"
#include "train/step_hooks.h"
#include "train/trainer.h"

namespace tern::train {

class StrategyHooks : public StepHooks {
 public:
  // `strategy` is not owned and must outlive the hooks.
  explicit StrategyHooks(Strategy* strategy) : strategy_(strategy) {}

  Status AfterBackward(const StepContext& ctx) override;
  Status AfterOptimizerStep(const StepContext& ctx) override;
  bool ZerothOrder() const override { return strategy_->ZerothOrder(); }
  Status ZerothOrderStep(const StepContext& ctx, const train::LossFn& loss) override;

 private:
  Strategy* strategy_;
};

// The trainer's flat buffers, layout and AdamW moments ("adamw.m",
// "adamw.v"; the strategy decides whether they are replicated). The spans
// stay valid for the trainer's lifetime.
ModelBuffers ModelBuffersOf(Trainer& trainer);

}  // namespace tern::train

#endif  // TERN_TRAIN_STRATEGY_HOOKS_H_
