// The points where a training strategy plugs into the trainer's step.
//
// A Trainer (trainer.h) runs one inner step as
//
//   first-order path (ZerothOrder() == false):
//     batch -> zero grads -> forward/backward
//       -> (a) AfterBackward          may rewrite gradients (data-parallel
//                                      all-reduces them here)
//       -> inner optimizer (AdamW, local state)
//       -> (b) AfterOptimizerStep     may communicate and rewrite parameters
//                                      (DiLoCo's outer step every H steps)
//   zeroth-order path (ZerothOrder() == true):
//     batch -> (c) ZerothOrderStep    gets a loss closure on the current
//                                      batch instead of backward + optimizer
//
// The strategy works on the model's flat buffers (StepContext), in place.
// A hook that returns an error stops the step with that status, and the
// step stays pending: the next Trainer::Step() re-runs the hook that failed
// (same batch, same step number, attempt + 1) and continues from there; the
// caller typically calls UpdateTopology() in between (kUnavailable /
// kAborted). For a retry to be exact, a failing hook must leave the buffers
// as it found them, which atomic collectives guarantee (DESIGN.md semantic
// 2). Trainer::AbandonPendingStep() drops a pending step instead.
//
// The strategies live in the `algo` module, below `train`, so they do not
// see this header: an adapter in `train` (or the launcher) implements
// StepHooks by calling them. The interface therefore uses only std types,
// Status and NamedParameter.
//
//   class DataParallelHooks : public StepHooks {
//     Status AfterBackward(const StepContext& ctx) override {
//       return comm.AllReduceAvg(TensorView::Of(ctx.gradients), opts);
//     }
//   };
//   trainer->SetStepHooks(&hooks);
//
// Thread-safety: hooks are called on the thread that calls Trainer::Step().
#ifndef TERN_TRAIN_STEP_HOOKS_H_
#define TERN_TRAIN_STEP_HOOKS_H_

#include <cstdint>
#include <functional>
#include <span>

#include "tern/status.h"
#include "train/model.h"

namespace tern::train {

// What a hook sees. The spans are the model's own flat buffers (valid for
// the trainer's lifetime); writes go straight into the model.
struct StepContext {
  int64_t step = 0;        // 0-based inner step being performed
  int attempt = 0;         // 0, then 1, 2, ... when a failed hook is re-run
  int64_t batch_size = 0;  // samples in this step's batch
  float loss = 0.0f;       // mean batch loss at the parameters before the
                           // step (first-order path; NaN on the ZO path)
  float lr = 0.0f;         // the inner learning rate of this step
  std::span<float> parameters;  // flat parameter buffer
  std::span<float> gradients;   // flat gradient buffer (first-order path)
  std::span<const NamedParameter> named;  // views into both, in flat order
};

// Mean loss of the current batch at the current contents of
// StepContext::parameters, without a gradient. Each call runs one forward
// pass (blocks). Errors: kInternal if torch fails.
using LossFn = std::function<Result<float>()>;

class StepHooks {
 public:
  virtual ~StepHooks() = default;

  // (a) After backward, before the inner optimizer. ctx.gradients holds this
  // worker's gradient of the mean batch loss; whatever it holds on return
  // is what the optimizer applies.
  virtual Status AfterBackward(const StepContext& ctx) {
    (void)ctx;
    return OkStatus();
  }

  // (b) After the inner optimizer has updated ctx.parameters in place.
  virtual Status AfterOptimizerStep(const StepContext& ctx) {
    (void)ctx;
    return OkStatus();
  }

  // (c) True to replace backward + optimizer + (a) + (b) by ZerothOrderStep.
  virtual bool ZerothOrder() const { return false; }
  // Perturbs ctx.parameters, evaluates `loss` (twice for two-point SPSA),
  // and leaves the updated parameters in ctx.parameters.
  virtual Status ZerothOrderStep(const StepContext& ctx, const LossFn& loss) {
    (void)ctx;
    (void)loss;
    return UnimplementedError("this strategy has no zeroth-order step");
  }
};

}  // namespace tern::train

#endif  // TERN_TRAIN_STEP_HOOKS_H_
