#include "algo/outer_optimizer.h"

#include <cmath>
#include <cstring>

#include "util/check.h"

namespace tern::algo {

int OuterStateBuffers(OuterRule rule) {
  switch (rule) {
    case OuterRule::kSgd:
      return 0;
    case OuterRule::kHeavyBall:
    case OuterRule::kNesterov:
      return 1;
    case OuterRule::kAdam:
      return 2;
  }
  return 0;
}

namespace {

// beta^t by repeated multiplication: exact enough, and identical everywhere.
double PowInt(double beta, int64_t t) {
  double r = 1.0;
  for (int64_t i = 0; i < t; ++i) r *= beta;
  return r;
}

void AdamStep(const OuterOptimizerOptions& o, int64_t t, std::span<const float> g,
              std::span<float> p, std::span<float> m, std::span<float> v) {
  const float b1 = o.beta1, b2 = o.beta2;
  const float c1 = static_cast<float>(1.0 - PowInt(b1, t));
  const float c2 = static_cast<float>(1.0 - PowInt(b2, t));
  for (size_t i = 0; i < p.size(); ++i) {
    m[i] = b1 * m[i] + (1.0f - b1) * g[i];
    v[i] = b2 * v[i] + (1.0f - b2) * (g[i] * g[i]);
    const float mhat = m[i] / c1;
    const float vhat = v[i] / c2;
    p[i] = p[i] - o.lr * (mhat / (std::sqrt(vhat) + o.eps));  // sqrt is exactly rounded
  }
}

}  // namespace

void OuterStep(const OuterOptimizerOptions& o, int64_t t, std::span<const float> grad,
               std::span<float> params, std::span<float> state1, std::span<float> state2) {
  TERN_CHECK_EQ(grad.size(), params.size());
  const size_t n = params.size();
  const float lr = o.lr, mu = o.momentum;
  switch (o.rule) {
    case OuterRule::kSgd:
      for (size_t i = 0; i < n; ++i) params[i] = params[i] - lr * grad[i];
      return;
    case OuterRule::kHeavyBall:
      TERN_CHECK_EQ(state1.size(), n);
      for (size_t i = 0; i < n; ++i) {
        state1[i] = mu * state1[i] + grad[i];
        params[i] = params[i] - lr * state1[i];
      }
      return;
    case OuterRule::kNesterov:
      TERN_CHECK_EQ(state1.size(), n);
      for (size_t i = 0; i < n; ++i) {
        state1[i] = mu * state1[i] + grad[i];
        params[i] = params[i] - lr * (grad[i] + mu * state1[i]);
      }
      return;
    case OuterRule::kAdam:
      TERN_CHECK_EQ(state1.size(), n);
      TERN_CHECK_EQ(state2.size(), n);
      TERN_CHECK_GE(t, 1);
      AdamStep(o, t, grad, params, state1, state2);
      return;
  }
}

void LerpInto(std::span<float> local_inout, std::span<const float> global, float alpha) {
  TERN_CHECK_EQ(global.size(), local_inout.size());
  float* l = local_inout.data();
  const float* g = global.data();
  if (alpha < 0.5f) {
    for (size_t i = 0; i < global.size(); ++i) l[i] = g[i] + alpha * (l[i] - g[i]);
  } else {
    const float w = 1.0f - alpha;
    for (size_t i = 0; i < global.size(); ++i) l[i] = l[i] - (l[i] - g[i]) * w;
  }
}

void Difference(std::span<const float> a, std::span<const float> b, std::span<float> out) {
  TERN_CHECK_EQ(a.size(), out.size());
  TERN_CHECK_EQ(b.size(), out.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = a[i] - b[i];
}

void CopyInto(std::span<float> dst, std::span<const float> src) {
  TERN_CHECK_EQ(dst.size(), src.size());
  std::memcpy(dst.data(), src.data(), src.size_bytes());
}

}  // namespace tern::algo
