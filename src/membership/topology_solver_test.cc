#include "membership/topology_solver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "util/philox.h"

namespace tern::membership {
namespace {

std::vector<std::vector<double>> RandomRates(size_t n, uint64_t seed) {
  RngStream rng(seed, RngPurpose::kTest, n, 0);
  std::vector<std::vector<double>> r(n, std::vector<double>(n, 0));
  for (auto& row : r) {
    for (double& x : row) x = 1 + rng.UniformInt(1000);
  }
  return r;
}

double BruteForce(const std::vector<std::vector<double>>& rate) {
  std::vector<size_t> order(rate.size());
  std::iota(order.begin(), order.end(), size_t{0});
  double best = 0;
  do {
    best = std::max(best, RingBottleneck(rate, order));
  } while (std::next_permutation(order.begin() + 1, order.end()));
  return best;
}

TEST(TopologySolverTest, ExactMatchesBruteForce) {
  for (size_t n = 3; n <= 7; ++n) {
    for (uint64_t seed = 0; seed < 5; ++seed) {
      auto rate = RandomRates(n, seed);
      RingSolution s = BestRing(rate);
      EXPECT_TRUE(s.exact);
      EXPECT_EQ(s.bottleneck, BruteForce(rate)) << "n " << n << " seed " << seed;
      EXPECT_EQ(s.bottleneck, RingBottleneck(rate, s.order));
      std::vector<size_t> sorted = s.order;
      std::sort(sorted.begin(), sorted.end());
      for (size_t i = 0; i < n; ++i) EXPECT_EQ(sorted[i], i);
    }
  }
}

TEST(TopologySolverTest, AvoidsTheOneSlowLink) {
  // 4 nodes, all links 100 except 0->1 and 2->3 at 1: the identity ring
  // uses both; the best ring uses neither.
  std::vector<std::vector<double>> r(4, std::vector<double>(4, 100));
  r[0][1] = 1;
  r[2][3] = 1;
  EXPECT_EQ(RingBottleneck(r, {0, 1, 2, 3}), 1);
  EXPECT_EQ(BestRing(r).bottleneck, 100);
}

TEST(TopologySolverTest, HeuristicIsAValidRingForLargeWorlds) {
  auto rate = RandomRates(20, 3);
  RingSolution s = BestRing(rate);
  EXPECT_FALSE(s.exact);
  std::vector<size_t> sorted = s.order;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) EXPECT_EQ(sorted[i], i);
  std::vector<size_t> identity(20);
  std::iota(identity.begin(), identity.end(), size_t{0});
  EXPECT_GE(s.bottleneck, RingBottleneck(rate, identity));
}

}  // namespace
}  // namespace tern::membership
