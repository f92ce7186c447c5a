#include "codec/noise.h"

#include <vector>

#include <gtest/gtest.h>

namespace tern::codec {
namespace {

std::vector<const Kernels*> AllTables() {
  std::vector<const Kernels*> t = {&ScalarKernels()};
  if (Avx2Kernels()) t.push_back(Avx2Kernels());
  if (Avx512Kernels()) t.push_back(Avx512Kernels());
  return t;
}

TEST(NoiseWordsTest, EveryTableEqualsRngStreamWordForWord) {
  // Word 4 * (2^32 - 5) starts 5 blocks before the counter's low word wraps.
  const uint64_t wrap = 4 * ((uint64_t{1} << 32) - 5);
  for (const Kernels* table : AllTables()) {
    SetKernelsForTest(table);
    for (uint64_t a : {uint64_t{0}, uint64_t{7}, uint64_t{1} << 40}) {
      NoiseWords noise(99, RngPurpose::kStochasticRounding, a, 0xABCDEF0123ull);
      for (uint64_t first : {uint64_t{0}, uint64_t{1}, uint64_t{3}, uint64_t{4}, uint64_t{61},
                             uint64_t{1000}, (uint64_t{1} << 34) + 2, wrap, wrap + 3}) {
        for (size_t n : {size_t{0}, size_t{1}, size_t{5}, size_t{64}, size_t{65}, size_t{200},
                         size_t{1031}}) {
          RngStream ref(99, RngPurpose::kStochasticRounding, a, 0xABCDEF0123ull);
          ref.Seek(first);
          std::vector<uint32_t> want(n), fast(n), scalar(n);
          for (auto& w : want) w = ref.NextU32();
          noise.Fill(first, n, fast.data());
          noise.FillScalar(first, n, scalar.data());
          ASSERT_EQ(fast, want) << table->name << " first=" << first << " n=" << n;
          ASSERT_EQ(scalar, want);
        }
      }
    }
  }
  SetKernelsForTest(nullptr);
}

}  // namespace
}  // namespace tern::codec
