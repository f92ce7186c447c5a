#include "codec/select.h"

#include <algorithm>
#include <functional>
#include <vector>

#include <gtest/gtest.h>

#include "util/philox.h"

namespace tern::codec {
namespace {

uint32_t NthElementReference(std::vector<uint32_t> v, size_t rank) {
  std::nth_element(v.begin(), v.begin() + (rank - 1), v.end(), std::greater<uint32_t>());
  return v[rank - 1];
}

// Values spread over every bucket, crowded into one bucket, and all equal,
// with ties; every rank of the small arrays, a spread of ranks of the large.
TEST(SelectTest, KthLargestMatchesNthElement) {
  RngStream rng(9, RngPurpose::kTest, 0, 0);
  for (size_t n : {size_t{1}, size_t{2}, size_t{37}, size_t{1000}, size_t{25600}}) {
    for (int shape = 0; shape < 3; ++shape) {
      std::vector<uint32_t> v(n);
      for (uint32_t& a : v) {
        const uint32_t r = static_cast<uint32_t>(rng.UniformInt(uint64_t{1} << 31));
        a = shape == 0 ? r : shape == 1 ? (0x40200000u | (r & 0xFFF)) : 0x3F800000u;
      }
      const size_t step = n <= 1000 ? 1 : 97;
      for (size_t rank = 1; rank <= n; rank += step) {
        std::vector<uint32_t> work = v;
        ASSERT_EQ(KthLargest(work, rank), NthElementReference(v, rank))
            << "n=" << n << " shape=" << shape << " rank=" << rank;
      }
      std::vector<uint32_t> work = v;
      EXPECT_EQ(KthLargest(work, n), NthElementReference(v, n));  // the smallest
    }
  }
}

}  // namespace
}  // namespace tern::codec
