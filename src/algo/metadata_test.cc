#include "algo/metadata.h"

#include <gtest/gtest.h>

namespace tern::algo {
namespace {

TEST(MetadataTest, RoundTrip) {
  Metadata m{.strategy = 3, .config_hash = 0x1234567890abcdefull, .step = 99, .members = {1, 4, 7}};
  Result<Metadata> d = DecodeMetadata(EncodeMetadata(m));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->strategy, 3);
  EXPECT_EQ(d->config_hash, m.config_hash);
  EXPECT_EQ(d->step, 99u);
  EXPECT_EQ(d->members, m.members);
}

TEST(MetadataTest, EveryTruncationIsDataLoss) {
  const std::string bytes = EncodeMetadata({.strategy = 1, .config_hash = 2, .step = 3,
                                            .members = {5, 6}});
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_EQ(DecodeMetadata(bytes.substr(0, n)).status().code(), StatusCode::kDataLoss) << n;
  }
  EXPECT_EQ(DecodeMetadata(bytes + "x").status().code(), StatusCode::kDataLoss);
}

TEST(MetadataTest, HugeMemberCountIsRefusedBeforeAllocation) {
  std::string bytes = EncodeMetadata({});
  bytes[bytes.size() - 1] = '\x7f';  // count = 0x7f000000
  EXPECT_EQ(DecodeMetadata(bytes).status().code(), StatusCode::kDataLoss);
}

TEST(MetadataTest, UnsortedMembersAreDataLoss) {
  std::string bytes = EncodeMetadata({.members = {5, 5}});
  EXPECT_EQ(DecodeMetadata(bytes).status().code(), StatusCode::kDataLoss);
}

TEST(MetadataTest, StepThatWouldWrapIsDataLoss) {
  // step + 1 must not wrap to 0 (a zero outer-step count reaches outer
  // Adam's TERN_CHECK_GE(t, 1)): peer input never reaches a CHECK.
  for (uint64_t step : {~uint64_t{0}, kMaxStep}) {
    EXPECT_EQ(DecodeMetadata(EncodeMetadata({.step = step})).status().code(),
              StatusCode::kDataLoss)
        << step;
  }
  Result<Metadata> ok = DecodeMetadata(EncodeMetadata({.step = kMaxStep - 1}));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->step, kMaxStep - 1);
}

}  // namespace
}  // namespace tern::algo
