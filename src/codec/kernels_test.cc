// Every SIMD kernel table against the scalar reference, bit for bit.
#include "codec/kernels.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "codec/test_util.h"

namespace tern::codec {
namespace {

std::vector<const Kernels*> FastTables() {
  std::vector<const Kernels*> t;
  if (Avx2Kernels()) t.push_back(Avx2Kernels());
  if (Avx512Kernels()) t.push_back(Avx512Kernels());
  return t;
}

// Gaussian values with hard cases sprinkled in: NaN, infinities, signed
// zeros, subnormals, and exact rounding ties for the quantizers.
std::vector<float> Hard(size_t n, uint64_t seed) {
  std::vector<float> x = testing::Gaussian(n, seed);
  const float specials[] = {NAN, -NAN, INFINITY, -INFINITY, 0.0f, -0.0f, FLT_MIN / 8, -FLT_TRUE_MIN,
                            0.5f, -2.5f, 1.25f, 0.75f, 3.5f, 5.0f};
  RngStream rng(seed, RngPurpose::kTest, 1, 0);
  for (size_t i = 0; i < n / 17; ++i) x[rng.UniformInt(n)] = specials[rng.UniformInt(14)];
  // A block of all zeros and one of tiny values.
  for (size_t i = 0; i < std::min<size_t>(n, 300); ++i) x[i] = 0.0f;
  for (size_t i = 300; i < std::min<size_t>(n, 600); ++i) x[i] = FLT_MIN / 3;
  return x;
}

const size_t kLengths[] = {0, 1, 15, 16, 17, 255, 256, 257, 1000, 4099, 70001};

TEST(KernelsTest, SomeFastTableIsAvailableHere) {
  // The machine the project targets has AVX-512; if it ever stops, the rest
  // of this file compares nothing, so say so.
  if (FastTables().empty()) GTEST_SKIP() << "no SIMD tables on this CPU";
  EXPECT_NE(std::string(BestKernels().name), "scalar");
}

TEST(KernelsTest, QuantBlocksMatchesScalar) {
  const Kernels& ref = ScalarKernels();
  for (const Kernels* k : FastTables()) {
    for (size_t n : kLengths) {
      for (size_t block : {size_t{1}, size_t{7}, size_t{16}, size_t{64}, size_t{100}, size_t{256}}) {
        for (int qmax : {127, 7}) {
          std::vector<float> x = Hard(n, n * 31 + block);
          size_t nb = CeilDiv(n, block);
          std::vector<uint8_t> s1(4 * nb + 1), s2(4 * nb + 1);
          std::vector<int8_t> q1(n + 1), q2(n + 1);
          ref.quant_blocks(x.data(), n, block, qmax, nullptr, s1.data(), q1.data());
          k->quant_blocks(x.data(), n, block, qmax, nullptr, s2.data(), q2.data());
          ASSERT_EQ(s1, s2) << k->name << " n=" << n << " block=" << block;
          ASSERT_EQ(q1, q2) << k->name << " n=" << n << " block=" << block << " qmax=" << qmax;
        }
      }
    }
  }
}

TEST(KernelsTest, StochasticQuantBlocksMatchesScalar) {
  const Kernels& ref = ScalarKernels();
  for (const Kernels* k : FastTables()) {
    for (size_t n : kLengths) {
      for (size_t block : {size_t{7}, size_t{64}, size_t{256}}) {
        std::vector<float> x = Hard(n, n * 7 + block);
        std::vector<uint32_t> noise(n);
        RngStream rng(n, RngPurpose::kTest, 2, 0);
        for (auto& w : noise) w = rng.NextU32();
        for (size_t i = 0; i < n; i += 5) noise[i] = i % 2 ? 0xFFFFFFFFu : 0u;  // extremes
        size_t nb = CeilDiv(n, block);
        std::vector<uint8_t> s1(4 * nb), s2(4 * nb);
        std::vector<int8_t> q1(n), q2(n);
        ref.quant_blocks(x.data(), n, block, 127, noise.data(), s1.data(), q1.data());
        k->quant_blocks(x.data(), n, block, 127, noise.data(), s2.data(), q2.data());
        ASSERT_EQ(s1, s2) << k->name;
        ASSERT_EQ(q1, q2) << k->name << " n=" << n << " block=" << block;
      }
    }
  }
}

TEST(KernelsTest, DequantMatchesScalarInEveryMode) {
  const Kernels& ref = ScalarKernels();
  for (const Kernels* k : FastTables()) {
    for (size_t n : kLengths) {
      const size_t block = 100, nb = CeilDiv(n, block);
      std::vector<float> x = Hard(n, n + 5);
      std::vector<uint8_t> scales(4 * nb);
      std::vector<int8_t> q(n);
      ref.quant_blocks(x.data(), n, block, 127, nullptr, scales.data(), q.data());
      for (Mode mode : {Mode::kStore, Mode::kAdd, Mode::kSubtract}) {
        std::vector<float> o1 = testing::Gaussian(n, 77), o2 = o1;
        ref.dequant_int8(scales.data(), q.data(), n, block, o1.data(), mode);
        k->dequant_int8(scales.data(), q.data(), n, block, o2.data(), mode);
        ASSERT_EQ(std::memcmp(o1.data(), o2.data(), 4 * n), 0) << k->name << " n=" << n;
      }
    }
  }
}

TEST(KernelsTest, SignPackMatchesScalar) {
  const Kernels& ref = ScalarKernels();
  for (const Kernels* k : FastTables()) {
    for (size_t n : kLengths) {
      if (n == 0) continue;
      for (size_t block : {size_t{16}, size_t{256}, size_t{512}, size_t{4096}, n}) {
        if (block % 16 != 0 && block != n) continue;
        for (bool l2 : {false, true}) {
          std::vector<float> x = testing::Gaussian(n, n + block);
          if (n > 40) x[33] = -0.0f, x[34] = NAN, x[35] = 0.0f;
          size_t nb = CeilDiv(n, block);
          std::vector<uint8_t> s1(4 * nb), s2(4 * nb), b1(CeilDiv(n, 8)), b2(CeilDiv(n, 8));
          ref.sign_pack(x.data(), n, block, l2, s1.data(), b1.data());
          k->sign_pack(x.data(), n, block, l2, s2.data(), b2.data());
          ASSERT_EQ(b1, b2) << k->name << " n=" << n << " block=" << block;
          if (n <= 40 || block < 40) {
            ASSERT_EQ(s1, s2) << k->name << " n=" << n << " block=" << block << " l2=" << l2;
          } else {
            // The NaN poisons one block's scale in both; compare bit patterns.
            ASSERT_EQ(std::memcmp(s1.data(), s2.data(), s1.size()), 0) << k->name;
          }
        }
      }
    }
  }
}

TEST(KernelsTest, SelectMatchesScalarIncludingCap) {
  const Kernels& ref = ScalarKernels();
  for (const Kernels* k : FastTables()) {
    for (size_t n : kLengths) {
      std::vector<float> x = Hard(n, n + 9);
      for (uint32_t thr : {0u, 1u, AbsBits(0.5f), AbsBits(2.0f), AbsBits(INFINITY), 0x7FFFFFFFu,
                           0x80000000u, 0x90000000u}) {
        for (size_t cap : {size_t{0}, size_t{3}, n / 10, n}) {
          // 16 guard entries past the slack must stay untouched.
          const size_t room = cap + kSelectSlack, guard = 16;
          std::vector<uint32_t> p1(room), p2(room + guard, 0xDEADBEEFu);
          std::vector<float> v1(room), v2(room + guard);
          size_t c1 = ref.select_abs_ge(x.data(), n, thr, 5, p1.data(), v1.data(), cap);
          size_t c2 = k->select_abs_ge(x.data(), n, thr, 5, p2.data(), v2.data(), cap);
          ASSERT_EQ(c1, c2) << k->name << " n=" << n << " thr=" << thr << " cap=" << cap;
          for (size_t g = room; g < room + guard; ++g) ASSERT_EQ(p2[g], 0xDEADBEEFu) << k->name;
          if (c1 > cap) continue;
          p1.resize(c1), p2.resize(c1), v1.resize(c1), v2.resize(c1);
          ASSERT_EQ(p1, p2);
          ASSERT_EQ(std::memcmp(v1.data(), v2.data(), 4 * c1), 0);
        }
      }
    }
  }
}

// Gaps from 0 to 2^32 - 2 (codes short, at the 56-bit limit and past it),
// with and without a position before the first, every k the format allows.
TEST(KernelsTest, RiceCodesMatchScalar) {
  const Kernels& ref = ScalarKernels();
  RngStream rng(17, RngPurpose::kTest, 2, 0);
  for (const Kernels* t : FastTables()) {
    for (size_t count : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{300}}) {
      std::vector<uint32_t> pos(count);
      uint64_t p = rng.UniformInt(3);
      for (size_t j = 0; j < count; ++j) {
        const int scale = static_cast<int>(rng.UniformInt(33));  // gaps of up to 2^scale
        p += 1 + rng.UniformInt(uint64_t{1} << scale) % ((uint64_t{1} << 32) / (count + 1));
        pos[j] = static_cast<uint32_t>(std::min<uint64_t>(p, 0xFFFFFFFEu - count + j));
        p = pos[j];
      }
      for (int k = 0; k <= 30; ++k) {
        for (uint64_t prev : {uint64_t{0}, count > 0 ? uint64_t{pos[0]} : 0}) {
          std::vector<uint64_t> c1(count), l1(count), c2(count, 7), l2(count, 7);
          ref.rice_codes(pos.data(), count, prev, k, c1.data(), l1.data());
          t->rice_codes(pos.data(), count, prev, k, c2.data(), l2.data());
          ASSERT_EQ(l1, l2) << t->name << " count=" << count << " k=" << k;
          ASSERT_EQ(c1, c2) << t->name << " count=" << count << " k=" << k;
        }
      }
    }
  }
}

TEST(KernelsTest, Fp4CodesMatchScalar) {
  const Kernels& ref = ScalarKernels();
  for (const Kernels* k : FastTables()) {
    for (size_t n : kLengths) {
      for (size_t block : {size_t{1}, size_t{16}, size_t{17}, size_t{32}}) {
        for (bool e3m0 : {false, true}) {
          std::vector<float> x = Hard(n, n * 3 + block);
          size_t nb = CeilDiv(n, block);
          std::vector<uint8_t> s1(nb), s2(nb), c1(n), c2(n);
          std::vector<uint32_t> noise(n);
          RngStream rng(n + block, RngPurpose::kTest, 4, 0);
          for (auto& w : noise) w = rng.NextU32();
          for (size_t i = 0; i < n; i += 7) noise[i] = i % 2 ? 0xFFFFFFFFu : 0u;  // extremes
          const uint32_t* none = nullptr;
          for (const uint32_t* nz : {none, static_cast<const uint32_t*>(noise.data())}) {
            ref.fp4_codes(x.data(), n, block, e3m0, nz, s1.data(), c1.data());
            k->fp4_codes(x.data(), n, block, e3m0, nz, s2.data(), c2.data());
            ASSERT_EQ(s1, s2) << k->name << " n=" << n;
            ASSERT_EQ(c1, c2) << k->name << " n=" << n << " block=" << block << " e3m0=" << e3m0
                              << " stochastic=" << (nz != nullptr);
          }
        }
      }
    }
  }
}

TEST(KernelsTest, Bf16MatchesScalar) {
  const Kernels& ref = ScalarKernels();
  for (const Kernels* k : FastTables()) {
    for (size_t n : kLengths) {
      std::vector<float> x = Hard(n, n + 13);
      for (size_t i = 0; i < n; i += 7) {  // ties: the bit below bf16 set, nothing under it
        uint32_t u = FloatBits(x[i]) & 0xFFFF0000u;
        x[i] = std::bit_cast<float>(static_cast<uint32_t>(u | 0x8000u | ((i & 8) << 13)));
      }
      std::vector<uint8_t> o1(2 * n), o2(2 * n);
      ref.to_bf16(x.data(), n, o1.data());
      k->to_bf16(x.data(), n, o2.data());
      ASSERT_EQ(o1, o2) << k->name << " n=" << n;
    }
  }
}

TEST(KernelsTest, NibbleLutMatchesScalar) {
  const Kernels& ref = ScalarKernels();
  std::vector<uint8_t> packed(4000);
  RngStream rng(3, RngPurpose::kTest, 0, 0);
  for (auto& b : packed) b = static_cast<uint8_t>(rng.NextU32());
  float lut[16];
  for (int i = 0; i < 16; ++i) lut[i] = static_cast<float>(i * i) - 7.5f;
  for (const Kernels* k : FastTables()) {
    for (size_t first : {0, 1, 2, 17, 64}) {
      for (size_t n : {0, 1, 7, 8, 15, 16, 17, 33, 255, 7000}) {
        std::vector<float> o1(n, 1.0f), o2(n, 2.0f);
        ref.nibble_lut(packed.data(), first, n, lut, o1.data());
        k->nibble_lut(packed.data(), first, n, lut, o2.data());
        ASSERT_EQ(o1, o2) << k->name << " first=" << first << " n=" << n;
      }
    }
  }
}

TEST(KernelsTest, Fp4RoundsHalfToEven) {
  using kernel_detail::E2M1Code;
  EXPECT_EQ(E2M1Code(0.25f), 0);  // 0 | 0.5: even code 0
  EXPECT_EQ(E2M1Code(0.75f), 2);  // 0.5 | 1: even code 2
  EXPECT_EQ(E2M1Code(1.25f), 2);
  EXPECT_EQ(E2M1Code(2.5f), 4);
  EXPECT_EQ(E2M1Code(5.0f), 6);
  EXPECT_EQ(E2M1Code(5.01f), 7);
  EXPECT_EQ(E2M1Code(100.0f), 7);
  EXPECT_EQ(kernel_detail::Fp4Exponent(6.0f, false), 0);
  EXPECT_EQ(kernel_detail::Fp4Exponent(6.5f, false), 1);
  EXPECT_EQ(kernel_detail::Fp4Exponent(1.0f, true), 0);
  EXPECT_EQ(kernel_detail::Fp4Exponent(1.5f, true), 1);
  EXPECT_EQ(kernel_detail::Fp4Exponent(0.0f, true), -127);
}

}  // namespace
}  // namespace tern::codec
