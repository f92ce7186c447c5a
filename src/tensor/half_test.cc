#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "tern/tensor.h"
#include "util/philox.h"

namespace tern {
namespace {

float FromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

TEST(HalfTest, KnownValues) {
  EXPECT_EQ(FloatToHalf(1.0f), 0x3C00);
  EXPECT_EQ(FloatToHalf(-2.0f), 0xC000);
  EXPECT_EQ(FloatToHalf(65504.0f), 0x7BFF);
  EXPECT_EQ(FloatToHalf(65520.0f), 0x7C00);  // rounds to infinity
  EXPECT_EQ(FloatToHalf(5.9604645e-08f), 0x0001);  // smallest subnormal
  EXPECT_EQ(FloatToHalf(2.9802322e-08f), 0x0000);  // half of it: tie to even (0)
  EXPECT_EQ(HalfToFloat(0x3555), 0.333251953125f);
  EXPECT_TRUE(std::isnan(HalfToFloat(FloatToHalf(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(HalfTest, RoundsHalfToEven) {
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: even mantissa wins (1).
  EXPECT_EQ(FloatToHalf(1.0f + 0.00048828125f), 0x3C00);
  // 1 + 3 * 2^-11 is halfway between 1 + 2^-10 and 1 + 2^-9: rounds to 0x3C02.
  EXPECT_EQ(FloatToHalf(1.0f + 3 * 0.00048828125f), 0x3C02);
  EXPECT_EQ(FloatToBF16(FromBits(0x3F808000u)), 0x3F80);  // tie, even stays
  EXPECT_EQ(FloatToBF16(FromBits(0x3F818000u)), 0x3F82);  // tie, odd rounds up
}

TEST(HalfTest, EveryHalfRoundTripsExactly) {
  for (uint32_t h = 0; h < 65536; ++h) {
    float f = HalfToFloat(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(FloatToHalf(f), h) << h;
  }
}

TEST(HalfTest, BulkPathsMatchScalar) {
  RngStream r(2, RngPurpose::kTest);
  std::vector<float> in(1027);
  for (auto& x : in) x = FromBits(r.NextU32());  // every bit pattern, NaNs included
  std::vector<uint16_t> h(in.size()), b(in.size());
  FloatToHalf(in.data(), h.data(), in.size());
  FloatToBF16(in.data(), b.data(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    ASSERT_EQ(h[i], FloatToHalf(in[i])) << i;
    ASSERT_EQ(b[i], FloatToBF16(in[i])) << i;
  }
  std::vector<float> back(in.size());
  HalfToFloat(h.data(), back.data(), h.size());
  for (size_t i = 0; i < in.size(); ++i) {
    uint32_t a, e;
    float s = HalfToFloat(h[i]);
    std::memcpy(&a, &back[i], 4);
    std::memcpy(&e, &s, 4);
    ASSERT_EQ(a, e) << i;
  }
}

TEST(TensorViewTest, ShapeAndBytes) {
  std::vector<float> v(12);
  TensorView t(v.data(), DType::kF32, Shape({3, 4}));
  EXPECT_EQ(t.numel(), 12u);
  EXPECT_EQ(t.nbytes(), 48u);
  EXPECT_EQ(t.shape.ToString(), "[3, 4]");
  EXPECT_EQ(Shape().numel(), 1);
  EXPECT_EQ(ParseDType("bf16").value(), DType::kBF16);
  EXPECT_EQ(ParseDType("int7").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tern
