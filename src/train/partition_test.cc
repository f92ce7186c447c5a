#include "train/partition.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "util/hash.h"

namespace tern::train {
namespace {

// 10 classes x 1000 samples, labels interleaved.
std::vector<uint8_t> BalancedLabels(int per_class = 1000) {
  std::vector<uint8_t> labels(10 * per_class);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<uint8_t>(i % 10);
  return labels;
}

void ExpectDisjointCover(const Shards& shards, size_t n) {
  std::vector<int> seen(n, 0);
  for (const auto& s : shards)
    for (uint32_t i : s) {
      ASSERT_LT(i, n);
      ++seen[i];
    }
  EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }));
}

// Per worker: the fraction of its samples in its most common class.
std::vector<double> DominantClassShare(const Shards& shards, const std::vector<uint8_t>& labels) {
  std::vector<double> out;
  for (const auto& s : shards) {
    std::vector<int> count(10, 0);
    for (uint32_t i : s) ++count[labels[i]];
    out.push_back(static_cast<double>(*std::max_element(count.begin(), count.end())) / s.size());
  }
  return out;
}

uint64_t Fingerprint(const Shards& shards) {
  uint64_t h = 0;
  for (const auto& s : shards) h = h * 31 + Xxh3(s.data(), s.size() * sizeof(uint32_t));
  return h;
}

TEST(PartitionIidTest, IsDisjointCoversAndBalanced) {
  Result<Shards> s = PartitionIid(1003, 4, 42);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->size(), 4u);
  ExpectDisjointCover(*s, 1003);
  for (const auto& shard : *s) EXPECT_TRUE(shard.size() == 250 || shard.size() == 251);
}

TEST(PartitionIidTest, IsDeterministicAndSeeded) {
  EXPECT_EQ(*PartitionIid(5000, 3, 7), *PartitionIid(5000, 3, 7));
  EXPECT_NE(*PartitionIid(5000, 3, 7), *PartitionIid(5000, 3, 8));
  EXPECT_NE(*PartitionIid(5000, 3, 7), *PartitionIid(5000, 4, 7));
}

TEST(PartitionIidTest, BadSizesAreInvalidArgument) {
  EXPECT_EQ(PartitionIid(10, 0, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PartitionIid(3, 4, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PartitionIid(100, kMaxWorkers + 1, 1).status().code(), StatusCode::kInvalidArgument);
}

TEST(PartitionDirichletTest, IsDisjointAndCovers) {
  std::vector<uint8_t> labels = BalancedLabels();
  for (double alpha : {0.05, 1.0, 100.0}) {
    Result<Shards> s = PartitionDirichlet(labels, 10, 4, alpha, 3);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ExpectDisjointCover(*s, labels.size());
  }
}

TEST(PartitionDirichletTest, SmallAlphaIsSkewed) {
  std::vector<uint8_t> labels = BalancedLabels();
  Result<Shards> s = PartitionDirichlet(labels, 10, 4, 0.05, 11);
  ASSERT_TRUE(s.ok());
  double mean = 0;
  for (double d : DominantClassShare(*s, labels)) mean += d / 4;
  // IID would give about 0.1; near-one-hot proportions give several times that.
  EXPECT_GT(mean, 0.3);
}

TEST(PartitionDirichletTest, LargeAlphaIsNearUniform) {
  std::vector<uint8_t> labels = BalancedLabels();
  Result<Shards> s = PartitionDirichlet(labels, 10, 4, 1000.0, 11);
  ASSERT_TRUE(s.ok());
  for (const auto& shard : *s) {
    EXPECT_NEAR(static_cast<double>(shard.size()), 2500.0, 150.0);
    std::vector<int> count(10, 0);
    for (uint32_t i : shard) ++count[labels[i]];
    for (int c : count) EXPECT_NEAR(c / static_cast<double>(shard.size()), 0.1, 0.02);
  }
}

TEST(PartitionDirichletTest, IsDeterministicAndSeeded) {
  std::vector<uint8_t> labels = BalancedLabels();
  EXPECT_EQ(*PartitionDirichlet(labels, 10, 4, 0.5, 1), *PartitionDirichlet(labels, 10, 4, 0.5, 1));
  EXPECT_NE(*PartitionDirichlet(labels, 10, 4, 0.5, 1), *PartitionDirichlet(labels, 10, 4, 0.5, 2));
}

// Every worker process computes the split on its own, so the bits are part of
// the protocol: a change here means old and new workers disagree.
TEST(PartitionTest, GoldenFingerprints) {
  std::vector<uint8_t> labels = BalancedLabels();
  EXPECT_EQ(Fingerprint(*PartitionIid(10000, 4, 2024)), 12272344660261579406ull);
  EXPECT_EQ(Fingerprint(*PartitionDirichlet(labels, 10, 4, 0.3, 2024)), 15269439872687878103ull);
}

TEST(PartitionDirichletTest, UnsatisfiableMinimumIsInvalidArgument) {
  std::vector<uint8_t> labels = BalancedLabels(10);
  // 100 samples, 10 workers, each needing 10: only a perfect split works.
  Status s = PartitionDirichlet(labels, 10, 10, 0.01, 5, 10).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

TEST(PartitionDirichletTest, BadArgumentsAreInvalidArgument) {
  std::vector<uint8_t> labels = BalancedLabels(10);
  EXPECT_EQ(PartitionDirichlet(labels, 10, 4, 0.0, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PartitionDirichlet(labels, 10, 4, NAN, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PartitionDirichlet(labels, 5, 4, 1.0, 1).status().code(), StatusCode::kInvalidArgument);
}

TEST(SplitSpecTest, Parses) {
  EXPECT_EQ(ParseSplitSpec("iid")->kind, SplitSpec::Kind::kIid);
  Result<SplitSpec> d = ParseSplitSpec("dirichlet:0.3");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->kind, SplitSpec::Kind::kDirichlet);
  EXPECT_EQ(d->alpha, 0.3);
  for (const char* bad : {"", "IID", "dirichlet", "dirichlet:", "dirichlet:0", "dirichlet:x", "dirichlet:1e9"}) {
    EXPECT_EQ(ParseSplitSpec(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace tern::train
