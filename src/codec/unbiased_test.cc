// Codecs that claim unbiasedness: the mean of many seeded encodings converges
// to the input (per element, within a z-score bound); biased ones do not.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "codec/test_util.h"

namespace tern::codec {
namespace {

struct Stats {
  double max_abs_z = 0;  // over elements with noise
  double mean_z2 = 0;    // ~1 when unbiased
  size_t deterministic_off = 0;  // zero-variance elements whose mean != x
};

Stats Measure(const std::string& spec, const std::vector<float>& x, int trials) {
  auto codec = testing::MustCreate(spec);
  const size_t n = x.size();
  std::vector<double> sum(n), sq(n);
  std::vector<float> y(n);
  for (int t = 0; t < trials; ++t) {
    CodecContext ctx{.seed = 99, .step = static_cast<uint64_t>(t), .tensor_id = 4, .offset = 0,
                     .peer_id = 3};
    std::string payload = testing::MustEncode(*codec, x, ctx);
    EXPECT_TRUE(codec->Decode(payload, ctx, y).ok());
    for (size_t i = 0; i < n; ++i) sum[i] += y[i], sq[i] += static_cast<double>(y[i]) * y[i];
  }
  Stats s;
  size_t noisy = 0;
  for (size_t i = 0; i < n; ++i) {
    const double mean = sum[i] / trials;
    const double var = std::max(0.0, sq[i] / trials - mean * mean);
    if (var < 1e-12 * (1 + x[i] * x[i])) {
      // No noise seen. Values a hair off a grid point round away with a tiny
      // probability that 3000 trials may never hit: allow 1e-3 (x is ~N(0,1)).
      s.deterministic_off += std::fabs(mean - x[i]) > 1e-3;
      continue;
    }
    const double z = (mean - x[i]) / std::sqrt(var / trials);
    s.max_abs_z = std::max(s.max_abs_z, std::fabs(z));
    s.mean_z2 += z * z;
    ++noisy;
  }
  if (noisy) s.mean_z2 /= static_cast<double>(noisy);
  return s;
}

TEST(UnbiasedTest, UnbiasedCodecsConvergeToTheInput) {
  const std::vector<float> x = testing::Gaussian(300, 17);
  for (const char* spec :
       {"int8:block=64,rounding=stochastic", "int4:block=32,rounding=stochastic",
        "fp4:rounding=stochastic", "fp4:format=e3m0,rounding=stochastic", "qsgd:levels=4,block=64",
        "terngrad:clip=0", "randk:density=0.2"}) {
    SCOPED_TRACE(spec);
    auto codec = testing::MustCreate(spec);
    EXPECT_TRUE(codec->traits().unbiased);
    Stats s = Measure(spec, x, 3000);
    EXPECT_EQ(s.deterministic_off, 0u);
    // 300 elements: |z| > 5 has probability ~2e-4 in all; mean z^2 ~ 1 +- 0.08.
    EXPECT_LT(s.max_abs_z, 5.0);
    EXPECT_GT(s.mean_z2, 0.7);
    EXPECT_LT(s.mean_z2, 1.3);
  }
}

TEST(UnbiasedTest, TheMeasureDetectsBias) {
  const std::vector<float> x = testing::Gaussian(300, 17);
  // Round-to-nearest has no noise at all but misses x; top-k's noise is nil
  // and dropped values stay dropped.
  EXPECT_GT(Measure("int8:block=64", x, 50).deterministic_off, 200u);
  EXPECT_FALSE(testing::MustCreate("int8")->traits().unbiased);
  // Stochastic rounding of a clipped TernGrad tensor is biased for the
  // clipped values.
  std::vector<float> spiky = x;
  spiky[0] = 40.0f;
  Stats clipped = Measure("terngrad:clip=2.5", spiky, 3000);
  EXPECT_TRUE(clipped.deterministic_off > 0 || clipped.max_abs_z > 5.0);
}

}  // namespace
}  // namespace tern::codec
