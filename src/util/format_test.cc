#include "util/format.h"

#include <gtest/gtest.h>

namespace tern {
namespace {

TEST(FormatTest, HumanBytesUsesDecimalUnits) {
  EXPECT_EQ(HumanBytes(999), "999 B");
  EXPECT_EQ(HumanBytes(1000), "1.0 kB");
  EXPECT_EQ(HumanBytes(12.03e6), "12.03 MB");
  EXPECT_EQ(HumanBytes(1.203e9), "1.20 GB");
}

TEST(FormatTest, FewerBytesIsAlwaysAMultiple) {
  EXPECT_EQ(FewerBytes(1.203e9, 3.07e6), "392x fewer");
  EXPECT_EQ(FewerBytes(10, 4), "2.5x fewer");
  EXPECT_EQ(FewerBytes(10, 18), "1.8x more");
  EXPECT_EQ(FewerBytes(10, 10), "same");
  EXPECT_EQ(FewerBytes(10, 0), "sent nothing");
}

TEST(FormatTest, PercentileIsNearestRank) {
  EXPECT_EQ(Percentile({3, 1, 2}, 0.5), 2);
  EXPECT_EQ(Percentile({5, 1, 4, 2, 3}, 0.0), 1);
  EXPECT_EQ(Percentile({5, 1, 4, 2, 3}, 1.0), 5);
}

}  // namespace
}  // namespace tern
