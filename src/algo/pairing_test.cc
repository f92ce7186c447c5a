#include "algo/pairing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace tern::algo {
namespace {

TEST(PairingTest, PairsCoverEveryPeerOnce) {
  std::vector<uint64_t> ids = {5, 9, 2, 14, 7, 3};
  auto groups = RandomGroups(42, 1, ids, 2);
  ASSERT_EQ(groups.size(), 3u);
  std::multiset<uint64_t> seen;
  for (const auto& g : groups) {
    EXPECT_EQ(g.size(), 2u);
    EXPECT_TRUE(std::is_sorted(g.begin(), g.end()));
    seen.insert(g.begin(), g.end());
  }
  EXPECT_EQ(seen, std::multiset<uint64_t>(ids.begin(), ids.end()));
}

TEST(PairingTest, SameOnEveryPeerWhateverTheInputOrder) {
  auto a = RandomGroups(42, 7, {1, 2, 3, 4, 5, 6, 7, 8}, 2);
  auto b = RandomGroups(42, 7, {8, 7, 6, 5, 4, 3, 2, 1}, 2);
  EXPECT_EQ(a, b);
}

TEST(PairingTest, RoundsChangeThePairs) {
  std::set<std::vector<std::vector<uint64_t>>> distinct;
  for (uint64_t r = 0; r < 20; ++r) distinct.insert(RandomGroups(1, r, {1, 2, 3, 4, 5, 6}, 2));
  EXPECT_GT(distinct.size(), 5u);
}

TEST(PairingTest, OddCountMakesOneTriple) {
  auto groups = RandomGroups(3, 2, {1, 2, 3, 4, 5}, 2);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].size() + groups[1].size(), 5u);
  EXPECT_EQ(std::max(groups[0].size(), groups[1].size()), 3u);
}

TEST(PairingTest, GroupSizeZeroIsTheWholeWorld) {
  auto groups = RandomGroups(3, 2, {4, 1, 2}, 0);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0], (std::vector<uint64_t>{1, 2, 4}));
  EXPECT_EQ(GroupOf(groups, 2), groups[0]);
  EXPECT_TRUE(GroupOf(groups, 9).empty());
}

}  // namespace
}  // namespace tern::algo
