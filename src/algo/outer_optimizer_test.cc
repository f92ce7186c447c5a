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
