#include "algo/adamw.h"

#include <cmath>
#include <numbers>

#include "util/check.h"
#include "util/cpu.h"

namespace tern::algo {
namespace {

bool Finite(float x) { return std::isfinite(x); }

// torch's order of operations (torch/optim/adamw.py, single-tensor path).
// Only exactly rounded IEEE operations (no FMA: -ffp-contract=off), so every
// instruction set gives the same bits. adamw.cc is compiled with
// -fno-math-errno so that sqrtf vectorizes; that changes no result.
__attribute__((always_inline)) inline void AdamWLoop(const internal::AdamWKernelArgs& a) {
  float* __restrict p = a.p;
  const float* __restrict g = a.g;
  float* __restrict m = a.m;
  float* __restrict v = a.v;
  for (size_t i = 0; i < a.n; ++i) {
    float pi = p[i] * a.decay;
    float mi = m[i] * a.b1 + (1.0f - a.b1) * g[i];
    float vi = v[i] * a.b2 + (1.0f - a.b2) * g[i] * g[i];
    float denom = std::sqrt(vi) / a.bc2_sqrt + a.eps;
    p[i] = pi - a.step_size * (mi / denom);
    m[i] = mi;
    v[i] = vi;
  }
}

void AdamWBaseline(const internal::AdamWKernelArgs& a) { AdamWLoop(a); }
__attribute__((target("avx2"))) void AdamWAvx2(const internal::AdamWKernelArgs& a) { AdamWLoop(a); }

}  // namespace

namespace internal {

void AdamWKernel(const AdamWKernelArgs& args, KernelPath path) {
  if (path == KernelPath::kAvx2 && Cpu().avx2) {
    AdamWAvx2(args);
  } else {
    AdamWBaseline(args);
  }
}

}  // namespace internal

Status ValidateAdamW(const AdamWOptions& o) {
  if (!(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1)) {
    return InvalidArgumentError("AdamW betas must be in [0, 1)");
  }
  if (!Finite(o.eps) || o.eps <= 0) return InvalidArgumentError("AdamW eps must be finite and > 0");
  if (!Finite(o.weight_decay) || o.weight_decay < 0) {
    return InvalidArgumentError("AdamW weight_decay must be finite and >= 0");
  }
  return OkStatus();
}

AdamW::AdamW(size_t num_params, const AdamWOptions& options)
    : options_(options), m_(num_params, 0.0f), v_(num_params, 0.0f) {
  TERN_CHECK_OK(ValidateAdamW(options));
}

void AdamW::Step(std::span<float> params, std::span<const float> grads, float lr) {
  TERN_CHECK_EQ(params.size(), m_.size());
  TERN_CHECK_EQ(grads.size(), m_.size());
  ++steps_;
  beta1_power_ *= options_.beta1;
  beta2_power_ *= options_.beta2;
  internal::AdamWKernelArgs a;
  a.p = params.data();
  a.g = grads.data();
  a.m = m_.data();
  a.v = v_.data();
  a.n = m_.size();
  a.b1 = options_.beta1;
  a.b2 = options_.beta2;
  a.decay = 1.0f - lr * options_.weight_decay;
  a.step_size = static_cast<float>(lr / (1.0 - beta1_power_));
  a.bc2_sqrt = static_cast<float>(std::sqrt(1.0 - beta2_power_));
  a.eps = options_.eps;
  internal::AdamWKernel(a, Cpu().avx2 ? internal::KernelPath::kAvx2 : internal::KernelPath::kBaseline);
}

void AdamW::SetSteps(int64_t steps) {
  steps_ = 0;
  beta1_power_ = beta2_power_ = 1.0;
  for (; steps_ < steps; ++steps_) {
    beta1_power_ *= options_.beta1;
    beta2_power_ *= options_.beta2;
  }
}

void AdamW::Reset() {
  steps_ = 0;
  beta1_power_ = beta2_power_ = 1.0;
  std::fill(m_.begin(), m_.end(), 0.0f);
  std::fill(v_.begin(), v_.end(), 0.0f);
}

LrSchedule LrSchedule::Constant(float lr) {
  LrSchedule s;
  s.base_lr = lr;
  return s;
}

LrSchedule LrSchedule::Cosine(float base_lr, int64_t warmup_steps, int64_t total_steps, float min_lr) {
  LrSchedule s;
  s.kind = Kind::kCosine;
  s.base_lr = base_lr;
  s.warmup_steps = warmup_steps;
  s.total_steps = total_steps;
  s.min_lr = min_lr;
  return s;
}

float LrSchedule::At(int64_t step) const {
  if (step < warmup_steps) {
    return base_lr * static_cast<float>(step + 1) / static_cast<float>(warmup_steps);
  }
  if (kind == Kind::kConstant) return base_lr;
  if (step >= total_steps) return min_lr;
  double progress = static_cast<double>(step - warmup_steps) / static_cast<double>(total_steps - warmup_steps);
  double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  return static_cast<float>(min_lr + (base_lr - min_lr) * cosine);
}

Status ValidateLrSchedule(const LrSchedule& s) {
  if (!Finite(s.base_lr) || s.base_lr < 0 || !Finite(s.min_lr) || s.min_lr < 0 || s.min_lr > s.base_lr) {
    return InvalidArgumentError("learning rates must be finite with 0 <= min_lr <= base_lr");
  }
  if (s.warmup_steps < 0) return InvalidArgumentError("warmup_steps must be >= 0");
  if (s.kind == LrSchedule::Kind::kCosine && s.total_steps <= s.warmup_steps) {
    return InvalidArgumentError("a cosine schedule needs total_steps > warmup_steps");
  }
  return OkStatus();
}

}  // namespace tern::algo
