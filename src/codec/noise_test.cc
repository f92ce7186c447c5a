#include "codec/noise.h"

#include <vector>

#include <gtest/gtest.h>

namespace tern::codec {
namespace {

TEST(NoiseWordsTest, EqualsRngStreamWordForWord) {
  for (uint64_t a : {uint64_t{0}, uint64_t{7}, uint64_t{1} << 40}) {
    NoiseWords noise(99, RngPurpose::kStochasticRounding, a, 0xABCDEF0123ull);
    for (uint64_t first : {uint64_t{0}, uint64_t{1}, uint64_t{3}, uint64_t{4}, uint64_t{61},
                           uint64_t{1000}, (uint64_t{1} << 34) + 2}) {
      for (size_t n : {size_t{0}, size_t{1}, size_t{5}, size_t{64}, size_t{65}, size_t{200},
                       size_t{1031}}) {
        RngStream ref(99, RngPurpose::kStochasticRounding, a, 0xABCDEF0123ull);
        ref.Seek(first);
        std::vector<uint32_t> want(n), fast(n), scalar(n);
        for (auto& w : want) w = ref.NextU32();
        noise.Fill(first, n, fast.data());
        noise.FillScalar(first, n, scalar.data());
        ASSERT_EQ(fast, want) << "first=" << first << " n=" << n;
        ASSERT_EQ(scalar, want);
      }
    }
  }
}

}  // namespace
}  // namespace tern::codec
