#include "algo/adamw.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "util/philox.h"

namespace tern::algo {
namespace {

AdamWOptions NoDecay() {
  AdamWOptions o;
  o.weight_decay = 0.0f;
  return o;
}

TEST(AdamWTest, FirstStepMovesEachParameterByAboutLr) {
  AdamW opt(3, NoDecay());
  std::vector<float> p = {1.0f, 1.0f, 1.0f};
  std::vector<float> g = {0.5f, -2.0f, 1e-3f};
  opt.Step(p, g, 0.01f);
  // m_hat = g and v_hat = g^2 after one step: the update is lr * sign(g).
  EXPECT_NEAR(p[0], 0.99f, 1e-6f);
  EXPECT_NEAR(p[1], 1.01f, 1e-6f);
  EXPECT_NEAR(p[2], 0.99f, 1e-5f);
  EXPECT_EQ(opt.steps(), 1);
}

// The update rule of torch.optim.AdamW, evaluated in double.
TEST(AdamWTest, MatchesTheReferenceRuleOverManySteps) {
  AdamWOptions o;
  o.weight_decay = 0.05f;
  const size_t n = 257;
  AdamW opt(n, o);
  std::vector<float> p(n);
  std::vector<double> rp(n), rm(n, 0.0), rv(n, 0.0);
  RngStream rng(5, RngPurpose::kTest);
  for (size_t i = 0; i < n; ++i) rp[i] = p[i] = rng.Normal();
  std::vector<float> g(n);
  for (int t = 1; t <= 50; ++t) {
    const float lr = 1e-3f * t;
    for (size_t i = 0; i < n; ++i) g[i] = rng.Normal() * 0.1f;
    opt.Step(p, g, lr);
    for (size_t i = 0; i < n; ++i) {
      rp[i] *= 1.0 - double{lr} * o.weight_decay;
      rm[i] = o.beta1 * rm[i] + (1.0 - o.beta1) * g[i];
      rv[i] = o.beta2 * rv[i] + (1.0 - o.beta2) * g[i] * g[i];
      double mhat = rm[i] / (1.0 - std::pow(double{o.beta1}, t));
      double vhat = rv[i] / (1.0 - std::pow(double{o.beta2}, t));
      rp[i] -= lr * mhat / (std::sqrt(vhat) + o.eps);
    }
  }
  for (size_t i = 0; i < n; ++i) EXPECT_NEAR(p[i], rp[i], 2e-5 * (1.0 + std::fabs(rp[i]))) << i;
}

TEST(AdamWTest, WeightDecayIsDecoupledFromTheGradient) {
  AdamWOptions o;
  o.weight_decay = 0.1f;
  AdamW opt(2, o);
  std::vector<float> p = {2.0f, -4.0f};
  std::vector<float> zero = {0.0f, 0.0f};
  opt.Step(p, zero, 0.5f);
  EXPECT_FLOAT_EQ(p[0], 2.0f * 0.95f);
  EXPECT_FLOAT_EQ(p[1], -4.0f * 0.95f);
}

TEST(AdamWTest, ResetForgetsMoments) {
  AdamW a(1, NoDecay()), b(1, NoDecay());
  std::vector<float> pa = {0.0f}, pb = {0.0f};
  std::vector<float> g1 = {1.0f}, g2 = {-0.5f};
  a.Step(pa, g1, 0.1f);
  a.Reset();
  pa[0] = 0.0f;
  a.Step(pa, g2, 0.1f);
  b.Step(pb, g2, 0.1f);
  EXPECT_EQ(pa[0], pb[0]);
  EXPECT_EQ(a.steps(), 1);
}

// The AVX2 path must give the scalar baseline's bits (DESIGN.md semantic 3).
// A joiner of a data-parallel run receives the moments and adopts the step
// count; its next step must match the peer that ran every step.
TEST(AdamWTest, CopiedMomentsAndSetStepsContinueBitForBit) {
  const size_t n = 33;
  AdamW ran(n, AdamWOptions{}), joined(n, AdamWOptions{});
  std::vector<float> p(n, 0.5f), g(n);
  RngStream rng(9, RngPurpose::kTest);
  for (int t = 0; t < 7; ++t) {
    for (float& x : g) x = rng.Normal();
    ran.Step(p, g, 1e-2f);
  }
  std::vector<float> q = p;
  std::copy(ran.first_moment().begin(), ran.first_moment().end(), joined.first_moment().begin());
  std::copy(ran.second_moment().begin(), ran.second_moment().end(),
            joined.second_moment().begin());
  joined.SetSteps(ran.steps());
  EXPECT_EQ(joined.steps(), 7);
  for (float& x : g) x = rng.Normal();
  ran.Step(p, g, 1e-2f);
  joined.Step(q, g, 1e-2f);
  EXPECT_EQ(std::memcmp(p.data(), q.data(), n * sizeof(float)), 0);
}

TEST(AdamWTest, Avx2PathMatchesBaselineBitForBit) {
  const size_t n = 1003;  // not a multiple of any vector width
  RngStream rng(8, RngPurpose::kTest);
  std::vector<float> p(n), g(n), m(n), v(n);
  for (size_t i = 0; i < n; ++i) {
    p[i] = rng.Normal();
    g[i] = i % 7 == 0 ? 0.0f : rng.Normal() * (i % 3 == 0 ? 1e-20f : 1.0f);
    m[i] = rng.Normal() * 0.1f;
    v[i] = i % 11 == 0 ? 0.0f : rng.UniformFloat();
  }
  std::vector<float> p2 = p, m2 = m, v2 = v;
  internal::AdamWKernelArgs a{p.data(), g.data(), m.data(), v.data(), n, 0.9f, 0.999f, 0.999f, 0.01f, 0.03f, 1e-8f};
  internal::AdamWKernelArgs b = a;
  b.p = p2.data();
  b.m = m2.data();
  b.v = v2.data();
  internal::AdamWKernel(a, internal::KernelPath::kBaseline);
  internal::AdamWKernel(b, internal::KernelPath::kAvx2);
  EXPECT_EQ(0, std::memcmp(p.data(), p2.data(), n * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(m.data(), m2.data(), n * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(v.data(), v2.data(), n * sizeof(float)));
}

TEST(AdamWTest, BadOptionsAreInvalidArgument) {
  AdamWOptions o;
  o.beta1 = 1.0f;
  EXPECT_EQ(ValidateAdamW(o).code(), StatusCode::kInvalidArgument);
  o = AdamWOptions{};
  o.eps = 0.0f;
  EXPECT_EQ(ValidateAdamW(o).code(), StatusCode::kInvalidArgument);
  o = AdamWOptions{};
  o.weight_decay = NAN;
  EXPECT_EQ(ValidateAdamW(o).code(), StatusCode::kInvalidArgument);
}

TEST(LrScheduleTest, ConstantWithWarmup) {
  LrSchedule s = LrSchedule::Constant(0.1f);
  EXPECT_FLOAT_EQ(s.At(0), 0.1f);
  EXPECT_FLOAT_EQ(s.At(100000), 0.1f);
  s.warmup_steps = 4;
  EXPECT_FLOAT_EQ(s.At(0), 0.025f);
  EXPECT_FLOAT_EQ(s.At(3), 0.1f);
  EXPECT_FLOAT_EQ(s.At(4), 0.1f);
}

TEST(LrScheduleTest, CosineWarmsUpThenDecaysToTheFloor) {
  LrSchedule s = LrSchedule::Cosine(1.0f, 10, 110, 0.1f);
  EXPECT_FLOAT_EQ(s.At(0), 0.1f);   // 1/10 of the way up
  EXPECT_FLOAT_EQ(s.At(9), 1.0f);
  EXPECT_FLOAT_EQ(s.At(10), 1.0f);  // top of the cosine
  EXPECT_NEAR(s.At(60), 0.55f, 1e-6f);  // halfway: (base + min) / 2
  EXPECT_FLOAT_EQ(s.At(110), 0.1f);
  EXPECT_FLOAT_EQ(s.At(5000), 0.1f);
  for (int64_t t = 11; t < 110; ++t) EXPECT_LE(s.At(t), s.At(t - 1));
}

TEST(LrScheduleTest, BadSchedulesAreInvalidArgument) {
  EXPECT_TRUE(ValidateLrSchedule(LrSchedule::Cosine(1e-3f, 10, 100)).ok());
  EXPECT_EQ(ValidateLrSchedule(LrSchedule::Cosine(1e-3f, 10, 10)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateLrSchedule(LrSchedule::Constant(-1.0f)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateLrSchedule(LrSchedule::Cosine(1e-3f, 0, 10, 1.0f)).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tern::algo
