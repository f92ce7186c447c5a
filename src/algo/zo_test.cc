#include "algo/zo.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace tern::algo {
namespace {

TEST(ZoByteTest, EveryByteDecodesAndReencodesToItself) {
  for (int b = 0; b < 256; ++b) {
    const float v = DecodeZoByte(static_cast<uint8_t>(b), 1.0f);
    ASSERT_TRUE(std::isfinite(v));
    if ((b & 0x7F) == 0) {
      EXPECT_EQ(v, 0.0f);
    } else {
      EXPECT_EQ(EncodeZoByte(v, 1.0f), b) << b;
    }
  }
}

TEST(ZoByteTest, RelativeErrorWithinHalfStep) {
  const double bound = std::exp2(1.0 / 12) - 1 + 1e-6;  // 5.9%
  for (double x = 1e-3; x < 1000; x *= 1.013) {
    for (float s : {1.0f, -1.0f}) {
      const float v = static_cast<float>(x) * s;
      const float d = DecodeZoByte(EncodeZoByte(v, 1.0f), 1.0f);
      EXPECT_LE(std::fabs(d - v) / std::fabs(v), bound) << v;
      EXPECT_EQ(std::signbit(d), std::signbit(v));
    }
  }
}

TEST(ZoByteTest, ExtremesSaturateOrFlush) {
  EXPECT_EQ(DecodeZoByte(EncodeZoByte(1e9f, 1.0f), 1.0f), std::ldexp(1.4142135623730951f, 10));
  EXPECT_EQ(EncodeZoByte(1e-9f, 1.0f), 0);
  EXPECT_EQ(EncodeZoByte(NAN, 1.0f), 0);
  EXPECT_EQ(EncodeZoByte(-INFINITY, 1.0f), 0);
  EXPECT_EQ(EncodeZoByte(0.0f, 1.0f), 0);
}

TEST(ZoByteTest, ScaleShiftsTheRange) {
  const float v = 1e5f;
  EXPECT_NEAR(DecodeZoByte(EncodeZoByte(v, 1e4f), 1e4f), v, 0.06 * v);
  EXPECT_EQ(DecodeZoByte(64, 0.25f), 0.25f);  // code 64 is 1 * scale
}

TEST(ZoPerturbationTest, RademacherIsPlusMinusOneAndBalanced) {
  std::vector<float> z(4096);
  Perturbation(7, 3, 11, ZoDistribution::kRademacher, z);
  int plus = 0;
  for (float x : z) {
    ASSERT_TRUE(x == 1.0f || x == -1.0f);
    plus += x > 0;
  }
  EXPECT_NEAR(plus, 2048, 200);
}

TEST(ZoPerturbationTest, KeyedByPeerAndStep) {
  std::vector<float> a(257), b(257), c(257), a2(257);
  Perturbation(7, 3, 11, ZoDistribution::kNormal, a);
  Perturbation(7, 3, 12, ZoDistribution::kNormal, b);
  Perturbation(7, 4, 11, ZoDistribution::kNormal, c);
  Perturbation(7, 3, 11, ZoDistribution::kNormal, a2);
  EXPECT_NE(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(a, a2);
}

TEST(ZoPerturbationTest, AddIsCoefTimesDirection) {
  std::vector<float> z(100), out(100, 1.0f);
  Perturbation(1, 2, 3, ZoDistribution::kRademacher, z);
  AddPerturbation(1, 2, 3, ZoDistribution::kRademacher, 0.5f, out);
  for (size_t k = 0; k < z.size(); ++k) EXPECT_EQ(out[k], 1.0f + 0.5f * z[k]);
}

}  // namespace
}  // namespace tern::algo
