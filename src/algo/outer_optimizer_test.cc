#include "algo/outer_optimizer.h"

#include <gtest/gtest.h>

#include <vector>

namespace tern::algo {
namespace {

TEST(OuterOptimizerTest, SgdSubtractsScaledGradient) {
  OuterOptimizerOptions o{.rule = OuterRule::kSgd, .lr = 2.0f};
  std::vector<float> p = {1.0f}, g = {6.0f};
  OuterStep(o, 1, g, p, {}, {});
  EXPECT_EQ(p[0], -11.0f);  // torchft fixture: 1 - 2 * 6
}

TEST(OuterOptimizerTest, NesterovMatchesTorchFormula) {
  OuterOptimizerOptions o{.rule = OuterRule::kNesterov, .lr = 0.5f, .momentum = 0.9f};
  std::vector<float> p = {1.0f}, b = {0.0f};
  OuterStep(o, 1, std::vector<float>{1.0f}, p, b, {});
  // b = 1; p = 1 - 0.5 * (1 + 0.9 * 1) = 0.05
  EXPECT_FLOAT_EQ(b[0], 1.0f);
  EXPECT_FLOAT_EQ(p[0], 0.05f);
  OuterStep(o, 2, std::vector<float>{1.0f}, p, b, {});
  // b = 1.9; p = 0.05 - 0.5 * (1 + 0.9 * 1.9) = -1.305
  EXPECT_FLOAT_EQ(b[0], 1.9f);
  EXPECT_FLOAT_EQ(p[0], -1.305f);
}

TEST(OuterOptimizerTest, HeavyBallHasMomentum) {
  OuterOptimizerOptions o{.rule = OuterRule::kHeavyBall, .lr = 1.0f, .momentum = 0.5f};
  std::vector<float> p = {0.0f}, b = {0.0f};
  OuterStep(o, 1, std::vector<float>{1.0f}, p, b, {});
  OuterStep(o, 2, std::vector<float>{0.0f}, p, b, {});
  EXPECT_FLOAT_EQ(p[0], -1.5f);  // the second step moves by the momentum alone
}

TEST(OuterOptimizerTest, AdamFirstStepMovesByLr) {
  OuterOptimizerOptions o{.rule = OuterRule::kAdam, .lr = 0.1f};
  std::vector<float> p = {1.0f, 1.0f}, m = {0, 0}, v = {0, 0};
  OuterStep(o, 1, std::vector<float>{3.0f, -0.5f}, p, m, v);
  EXPECT_NEAR(p[0], 0.9f, 1e-6);  // bias-corrected m / sqrt(v) = sign(g)
  EXPECT_NEAR(p[1], 1.1f, 1e-6);
}

// Past t = 1 the bias corrections no longer cancel. By hand (lr 0.1,
// betas 0.9 / 0.999), gradients 3, 1, -2:
//   t=1: m = 0.3,   v = 0.009,      m^ = 3,      v^ = 9,       p = 1 - 0.1 * 3 / 3 = 0.9
//   t=2: m = 0.37,  v = 0.009991,   m^ = 0.37 / 0.19 = 1.947368, v^ = 0.009991 / 0.001999
//        = 4.997999, p = 0.9 - 0.1 * 1.947368 / 2.235621 = 0.8128936
//   t=3: m = 0.133, v = 0.013981009, m^ = 0.133 / 0.271 = 0.490775,
//        v^ = 0.013981009 / 0.002997001 = 4.665000, p = 0.8128936 - 0.1 * 0.490775 / 2.159861
//        = 0.7901711
TEST(OuterOptimizerTest, AdamBiasCorrectionAtLaterSteps) {
  OuterOptimizerOptions o{.rule = OuterRule::kAdam, .lr = 0.1f};
  std::vector<float> p = {1.0f}, m = {0}, v = {0};
  OuterStep(o, 1, std::vector<float>{3.0f}, p, m, v);
  EXPECT_NEAR(p[0], 0.9f, 1e-6);
  OuterStep(o, 2, std::vector<float>{1.0f}, p, m, v);
  EXPECT_NEAR(m[0], 0.37f, 1e-6);
  EXPECT_NEAR(v[0], 0.009991f, 5e-7);  // fp32: 1 - 0.999f is 0.00100005
  EXPECT_NEAR(p[0], 0.8128936f, 1e-6);
  OuterStep(o, 3, std::vector<float>{-2.0f}, p, m, v);
  EXPECT_NEAR(m[0], 0.133f, 1e-6);
  EXPECT_NEAR(v[0], 0.013981009f, 5e-7);
  EXPECT_NEAR(p[0], 0.7901711f, 1e-6);
  // Without bias correction (t treated as large) step 3 would move by
  // 0.1 * 0.133 / sqrt(0.013981) = 0.1125, not 0.0227: the count matters.
}

TEST(OuterOptimizerTest, LerpEndpointsAreExact) {
  std::vector<float> global = {-11.0f, 0.1f}, local = {-5.0f, 0.3f};
  std::vector<float> a = local;
  LerpInto(a, global, 0.0f);
  EXPECT_EQ(a, global);
  a = local;
  LerpInto(a, global, 1.0f);
  EXPECT_EQ(a, local);
  a = local;
  LerpInto(a, global, 0.5f);
  EXPECT_EQ(a[0], -8.0f);  // torchft fixture _1
}

TEST(OuterOptimizerTest, StateBufferCounts) {
  EXPECT_EQ(OuterStateBuffers(OuterRule::kSgd), 0);
  EXPECT_EQ(OuterStateBuffers(OuterRule::kNesterov), 1);
  EXPECT_EQ(OuterStateBuffers(OuterRule::kHeavyBall), 1);
  EXPECT_EQ(OuterStateBuffers(OuterRule::kAdam), 2);
}

}  // namespace
}  // namespace tern::algo
