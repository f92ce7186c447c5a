// The inner optimizer: AdamW over one flat fp32 buffer, and its learning-rate
// schedule. The one implementation of both: the built-in trainer
// (train/trainer.h) and the toy benchmark task (algo/toy_run.h) use it. (The
// outer optimizer's Adam, algo/outer_optimizer.h, is a different rule: no
// weight decay, applied to averaged pseudo-gradients, its state replicated.)
//
// The update is torch.optim.AdamW's (decoupled weight decay, bias-corrected
// moments, eps added after the square root), applied in place to the flat
// parameter buffer in one pass, so parameter views never move. Its state
// (step count, first and second moments) is per-peer (DESIGN.md semantic 4)
// unless a strategy declares it replicated (data-parallel).
//
//   AdamW opt(num_params, AdamWOptions{});
//   LrSchedule sched = LrSchedule::Cosine(1e-3, /*warmup=*/100, /*total=*/5000);
//   opt.Step(params, grads, sched.At(step));
//
// Thread-safety: thread-compatible.
#ifndef TERN_ALGO_ADAMW_H_
#define TERN_ALGO_ADAMW_H_

#include <cstdint>
#include <span>
#include <vector>

#include "tern/status.h"

namespace tern::algo {

// The rate itself is not here: LrSchedule gives it per step.
struct AdamWOptions {
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 1e-2f;
};

// kInvalidArgument unless betas are in [0, 1), eps > 0 and weight_decay >= 0
// (all finite).
Status ValidateAdamW(const AdamWOptions& options);

class AdamW {
 public:
  // REQUIRES: ValidateAdamW(options).ok().
  AdamW(size_t num_params, const AdamWOptions& options);

  // One step at learning rate `lr` (finite, >= 0): params -= lr * (m_hat / (sqrt(v_hat) +
  // eps) + wd * params). REQUIRES: params.size() == grads.size() ==
  // num_params. Does not block.
  void Step(std::span<float> params, std::span<const float> grads, float lr);
  // Forgets the moments and the step count (e.g. a new federated round).
  void Reset();

  int64_t steps() const { return steps_; }
  // The moments, in place, for a strategy that replicates them (data
  // parallel: every peer applies the same averaged gradient, so they
  // agree) and a joiner that receives them. Valid for the optimizer's life.
  std::span<float> first_moment() { return m_; }
  std::span<float> second_moment() { return v_; }
  // Sets the step count as if `steps` steps had run (a joiner adopting the
  // run's count); the bias-correction powers come from the same repeated
  // products, so they match a peer that ran them. REQUIRES: steps >= 0.
  void SetSteps(int64_t steps);
  const AdamWOptions& options() const { return options_; }

 private:
  AdamWOptions options_;
  int64_t steps_ = 0;
  double beta1_power_ = 1.0;  // beta1^steps, by repeated products (no libm)
  double beta2_power_ = 1.0;
  std::vector<float> m_;
  std::vector<float> v_;
};

// Learning rate per inner step: constant, or linear warmup from 0 then a
// cosine decay to `min_lr` at `total_steps` (held there afterwards).
// The rate is per-peer state: it uses libm's cos, which is fine because it
// never has to agree bit for bit across hosts.
struct LrSchedule {
  enum class Kind { kConstant, kCosine } kind = Kind::kConstant;
  float base_lr = 1e-3f;
  int64_t warmup_steps = 0;
  int64_t total_steps = 0;  // kCosine: the step at which min_lr is reached
  float min_lr = 0.0f;

  static LrSchedule Constant(float lr);
  static LrSchedule Cosine(float base_lr, int64_t warmup_steps, int64_t total_steps,
                           float min_lr = 0.0f);
  // The rate for the 0-based inner step `step`.
  float At(int64_t step) const;
};

// kInvalidArgument unless rates are finite and >= 0, min_lr <= base_lr,
// warmup_steps >= 0 and, for kCosine, total_steps > warmup_steps.
Status ValidateLrSchedule(const LrSchedule& schedule);

namespace internal {

// The element-wise update, exposed so tests can compare the paths.
struct AdamWKernelArgs {
  float* p;
  const float* g;
  float* m;
  float* v;
  size_t n;
  float b1, b2, decay, step_size, bc2_sqrt, eps;
};
enum class KernelPath { kBaseline, kAvx2 };
// kAvx2 falls back to kBaseline on CPUs without AVX2; both give the same bits.
void AdamWKernel(const AdamWKernelArgs& args, KernelPath path);

}  // namespace internal
}  // namespace tern::algo

#endif  // TERN_ALGO_ADAMW_H_
