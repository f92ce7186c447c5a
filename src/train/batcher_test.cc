#include "train/batcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

namespace tern::train {
namespace {

std::vector<uint32_t> Range(uint32_t begin, uint32_t end) {
  std::vector<uint32_t> v(end - begin);
  std::iota(v.begin(), v.end(), begin);
  return v;
}

std::vector<uint32_t> Epoch(ShardBatcher& b) {
  std::vector<uint32_t> seen;
  for (int64_t i = 0; i < b.batches_per_epoch(); ++i) {
    auto batch = b.Next();
    seen.insert(seen.end(), batch.begin(), batch.end());
  }
  return seen;
}

TEST(ShardBatcherTest, AnEpochVisitsEverySampleOnce) {
  ShardBatcher b(Range(100, 164), 16, 1, 0);
  EXPECT_EQ(b.batches_per_epoch(), 4);
  std::vector<uint32_t> seen = Epoch(b);
  EXPECT_EQ(b.epoch(), 0);
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, Range(100, 164));
}

TEST(ShardBatcherTest, ReshufflesEachEpochAndDropsThePartialBatch) {
  ShardBatcher b(Range(0, 70), 16, 1, 0);
  EXPECT_EQ(b.batches_per_epoch(), 4);  // 70 / 16, the last 6 dropped
  std::vector<uint32_t> e0 = Epoch(b), e1 = Epoch(b);
  EXPECT_EQ(b.epoch(), 1);
  EXPECT_EQ(e0.size(), 64u);
  EXPECT_NE(e0, e1);
}

TEST(ShardBatcherTest, OrderDependsOnSeedAndStreamOnly) {
  std::vector<uint32_t> shard = Range(0, 256);
  std::vector<uint32_t> reversed(shard.rbegin(), shard.rend());
  ShardBatcher a(shard, 32, 9, 2), same(reversed, 32, 9, 2), other_stream(shard, 32, 9, 3),
      other_seed(shard, 32, 10, 2);
  std::vector<uint32_t> ea = Epoch(a);
  EXPECT_EQ(ea, Epoch(same));  // the shard's own order does not matter
  EXPECT_NE(ea, Epoch(other_stream));
  EXPECT_NE(ea, Epoch(other_seed));
}

TEST(ShardBatcherTest, AShardSmallerThanABatchIsServedWhole) {
  ShardBatcher b(Range(0, 5), 64, 1, 0);
  auto batch = b.Next();
  std::vector<uint32_t> got(batch.begin(), batch.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, Range(0, 5));
  b.Next();
  EXPECT_EQ(b.epoch(), 1);
}

TEST(ShardBatcherTest, SeekContinuesWhereThatManyBatchesWouldHave) {
  for (int64_t k : {0, 1, 3, 4, 5, 11}) {  // 4 batches per epoch: across epochs
    ShardBatcher walked(Range(0, 70), 16, 5, 2), sought(Range(0, 70), 16, 5, 2);
    for (int64_t i = 0; i < k; ++i) walked.Next();
    sought.Seek(k);
    for (int i = 0; i < 6; ++i) {
      auto a = walked.Next(), b = sought.Next();
      EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end())) << k << " " << i;
      EXPECT_EQ(walked.epoch(), sought.epoch()) << k << " " << i;
    }
  }
  ShardBatcher tiny_walked(Range(0, 5), 16, 5, 2), tiny_sought(Range(0, 5), 16, 5, 2);
  for (int i = 0; i < 3; ++i) tiny_walked.Next();
  tiny_sought.Seek(3);
  auto a = tiny_walked.Next(), b = tiny_sought.Next();
  EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end()));
}

TEST(AssembleBatchTest, NormalisesPixelsAndCopiesLabels) {
  ImageSet set;
  set.count = 3;
  set.rows = 1;
  set.cols = 2;
  set.num_classes = 10;
  set.pixels = {0, 255, 10, 20, 30, 40};
  set.labels = {7, 8, 9};
  std::vector<float> images;
  std::vector<int64_t> labels;
  std::vector<uint32_t> idx = {2, 0};
  AssembleBatch(set, idx, &images, &labels);
  const auto& lut = PixelToFloat();
  EXPECT_EQ(images, (std::vector<float>{lut[30], lut[40], lut[0], lut[255]}));
  EXPECT_EQ(labels, (std::vector<int64_t>{9, 7}));
  EXPECT_NEAR(lut[0], -0.2860f / 0.3530f, 1e-6f);
}

}  // namespace
}  // namespace tern::train
