#include "codec/kmeans.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "codec/test_util.h"

namespace tern::codec {
namespace {

std::vector<uint8_t> RandomIds(size_t n, int nc, uint64_t seed) {
  RngStream rng(seed, RngPurpose::kTest, 1, 0);
  std::vector<uint8_t> id(n);
  for (auto& x : id) x = static_cast<uint8_t>(rng.UniformInt(nc));
  return id;
}

TEST(KMeansTest, OrderFreeSumsEqualIndexOrderSums) {
  // Top-20%-like values: magnitudes in [1.28, 5], both signs.
  std::vector<float> v = testing::Gaussian(300001, 3);
  for (float& x : v) x = std::copysign(1.28f + std::fmod(std::fabs(x), 3.7f), x);
  ASSERT_TRUE(SumsAreOrderFree(v));
  const std::vector<uint8_t> id = RandomIds(v.size(), 3, 4);
  double fast[kMaxClusters], slow[kMaxClusters];
  ClusterSums(v, id.data(), true, fast);
  ClusterSums(v, id.data(), false, slow);
  for (int j = 0; j < kMaxClusters; ++j) EXPECT_EQ(fast[j], slow[j]) << j;
}

TEST(KMeansTest, WideRangesZerosAndNonFiniteAreNotOrderFree) {
  std::vector<float> v = testing::Gaussian(1000, 5);
  for (float& x : v) x = std::copysign(1.0f + std::fabs(x), x);
  EXPECT_TRUE(SumsAreOrderFree(v));
  std::vector<float> w = v;
  w[7] = 1e-30f;  // 2^-100 next to values near 1: partial sums round
  EXPECT_FALSE(SumsAreOrderFree(w));
  w = v;
  w[7] = 0.0f;
  EXPECT_FALSE(SumsAreOrderFree(w));
  w = v;
  w[7] = NAN;
  EXPECT_FALSE(SumsAreOrderFree(w));
  w = v;
  w[7] = INFINITY;
  EXPECT_FALSE(SumsAreOrderFree(w));
  EXPECT_FALSE(SumsAreOrderFree({}));
  // The bound itself: 2^29 values of magnitude 1 would need 2^29 < 2^30.
  // (Checked through the formula, without allocating them.)
  std::vector<float> big(1 << 10, 1.0f);
  big[0] = 0x1p20f;  // n * max = 2^30 > 2^53 * 2^-23 = 2^30: not strictly below
  EXPECT_FALSE(SumsAreOrderFree(big));
  big[0] = 0x1p19f;
  EXPECT_TRUE(SumsAreOrderFree(big));
}

TEST(KMeansTest, HistogramCountsEveryId) {
  const std::vector<uint8_t> id = RandomIds(12347, 16, 6);
  const auto h = Histogram(id.data(), id.size());
  std::array<uint64_t, kMaxClusters> want{};
  for (uint8_t x : id) ++want[x];
  EXPECT_EQ(h, want);
}

}  // namespace
}  // namespace tern::codec
