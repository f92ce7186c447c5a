#include "train/strategy_hooks.h"

namespace tern::train {
namespace {

StepInfo InfoOf(const StepContext& ctx) {
  return StepInfo{.step = ctx.step, .attempt = ctx.attempt, .lr = ctx.lr};
}

}  // namespace

Status StrategyHooks::AfterBackward(const StepContext& ctx) {
  return strategy_->AfterBackward(InfoOf(ctx));
}

Status StrategyHooks::AfterOptimizerStep(const StepContext& ctx) {
  return strategy_->AfterOptimizerStep(InfoOf(ctx));
}

Status StrategyHooks::ZerothOrderStep(const StepContext& ctx, const train::LossFn& loss) {
  return strategy_->ZerothOrderStep(InfoOf(ctx), loss);
}

ModelBuffers ModelBuffersOf(Trainer& trainer) {
  ModelBuffers b;
  b.parameters = trainer.flat_parameters();
  b.gradients = trainer.flat_gradients();
  for (const NamedParameter& p : trainer.parameters()) {
    b.layout.push_back(
        ParamSlice{.name = p.name, .offset = p.offset, .numel = p.values.size(), .shape = p.shape});
  }
  // Declared, not owned: data-parallel replicates AdamW's moments (every
  // peer applies the same averaged gradient); the others keep them local.
  AdamW& adamw = trainer.optimizer();
  b.optimizer_state = {{.name = "adamw.m", .replicated = false, .values = adamw.first_moment()},
                       {.name = "adamw.v", .replicated = false, .values = adamw.second_moment()}};
  return b;
}

}  // namespace tern::train
