#include "train/det_math.h"

#include <gtest/gtest.h>

#include <cmath>

namespace tern::train {
namespace {

TEST(DetMathTest, LogAgreesWithLibm) {
  for (double x = 1e-300; x < 1e300; x *= 1.37) {
    EXPECT_NEAR(DetLog(x), std::log(x), 1e-15 * std::max(1.0, std::fabs(std::log(x)))) << x;
  }
  EXPECT_EQ(DetLog(1.0), 0.0);
}

TEST(DetMathTest, ExpAgreesWithLibm) {
  for (double x = -700.0; x < 709.0; x += 0.731) {
    EXPECT_NEAR(DetExp(x), std::exp(x), 1e-15 * std::exp(x)) << x;
  }
  EXPECT_EQ(DetExp(0.0), 1.0);
  EXPECT_EQ(DetExp(-800.0), 0.0);
  EXPECT_TRUE(std::isinf(DetExp(800.0)));
}

TEST(DetMathTest, NormalHasUnitMoments) {
  RngStream rng(1, RngPurpose::kTest);
  double sum = 0, sq = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    double z = DetNormal(rng);
    sum += z;
    sq += z * z;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sq / n, 1.0, 0.01);
}

// Gamma(a, 1) has mean a and variance a.
TEST(DetMathTest, GammaHasTheRightMoments) {
  for (double alpha : {0.1, 0.5, 1.0, 3.0, 50.0}) {
    RngStream rng(2, RngPurpose::kTest, static_cast<uint64_t>(alpha * 1000));
    double sum = 0, sq = 0;
    const int n = 100000;
    for (int i = 0; i < n; ++i) {
      double g = DetExp(SampleLogGamma(rng, alpha));
      sum += g;
      sq += g * g;
    }
    double mean = sum / n, var = sq / n - mean * mean;
    EXPECT_NEAR(mean, alpha, 0.03 * alpha + 0.002) << alpha;
    EXPECT_NEAR(var, alpha, 0.08 * alpha + 0.002) << alpha;
  }
}

TEST(DetMathTest, TinyAlphaStaysFiniteInLogForm) {
  RngStream rng(3, RngPurpose::kTest);
  for (int i = 0; i < 1000; ++i) {
    double l = SampleLogGamma(rng, 1e-3);
    EXPECT_TRUE(std::isfinite(l));
  }
}

}  // namespace
}  // namespace tern::train
