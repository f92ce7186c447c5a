// Philox4x32-10 blocks for NoiseWords (codec/noise.h), many at once: the
// SIMD tables run 16 (AVX-512) or 8 (AVX2) blocks per vector, two vectors
// interleaved so the multiply latency of one hides behind the other, and
// transpose the four state vectors in registers into stream order. Bit for
// bit Philox4x32 of util/philox.h (noise_test.cc).
#include <immintrin.h>

#include <cstring>

#include "codec/kernels.h"

// GCC 12 warns about the undefined vectors inside its own intrinsics headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define TERN_AVX512 __attribute__((target("avx512f,avx512dq")))
#define TERN_AVX2 __attribute__((target("avx2")))

namespace tern::codec::kernel_detail {
namespace {

constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;

// ---- AVX-512: 16 blocks per vector ----

struct State512 {
  __m512i c0, c1, c2, c3;
};

// hi and lo halves of the 32x32-bit products of each lane with m.
TERN_AVX512 inline void MulHiLo(__m512i x, __m512i m, __m512i* hi, __m512i* lo) {
  *lo = _mm512_mullo_epi32(x, m);
  const __m512i even = _mm512_mul_epu32(x, m);                       // lanes 0, 2, ...
  const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), m);  // lanes 1, 3, ...
  *hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
}

TERN_AVX512 inline void Round(State512* s, __m512i k0, __m512i k1) {
  const __m512i m0 = _mm512_set1_epi32(static_cast<int>(kMul0));
  const __m512i m1 = _mm512_set1_epi32(static_cast<int>(kMul1));
  __m512i hi0, lo0, hi1, lo1;
  MulHiLo(s->c0, m0, &hi0, &lo0);
  MulHiLo(s->c2, m1, &hi1, &lo1);
  s->c0 = _mm512_ternarylogic_epi32(hi1, s->c1, k0, 0x96);  // three-way xor
  s->c1 = lo1;
  s->c2 = _mm512_ternarylogic_epi32(hi0, s->c3, k1, 0x96);
  s->c3 = lo0;
}

// Counters of blocks first .. first + 15: (low, high word of the block
// number, a_lo, b_lo).
TERN_AVX512 inline State512 Counters512(uint64_t first, uint32_t a_lo, uint32_t b_lo) {
  const __m512i lo = _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(first)));
  const __m512i c0 = _mm512_add_epi32(
      lo, _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  const __mmask16 carry = _mm512_cmplt_epu32_mask(c0, lo);  // the low word wrapped
  const __m512i hi = _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(first >> 32)));
  return {c0, _mm512_mask_add_epi32(hi, carry, hi, _mm512_set1_epi32(1)),
          _mm512_set1_epi32(static_cast<int>(a_lo)), _mm512_set1_epi32(static_cast<int>(b_lo))};
}

// Lane j of c_r is word r of block j; writes the 64 words in stream order.
TERN_AVX512 inline void Store512(const State512& s, uint32_t* out) {
  const __m512i t0 = _mm512_unpacklo_epi32(s.c0, s.c1), t1 = _mm512_unpackhi_epi32(s.c0, s.c1);
  const __m512i t2 = _mm512_unpacklo_epi32(s.c2, s.c3), t3 = _mm512_unpackhi_epi32(s.c2, s.c3);
  // u_r holds block 4L + r in 128-bit lane L.
  const __m512i u0 = _mm512_unpacklo_epi64(t0, t2), u1 = _mm512_unpackhi_epi64(t0, t2);
  const __m512i u2 = _mm512_unpacklo_epi64(t1, t3), u3 = _mm512_unpackhi_epi64(t1, t3);
  // Transpose the 4x4 grid of 128-bit lanes: output m = lane m of u0..u3.
  const __m512i v0 = _mm512_shuffle_i32x4(u0, u1, 0x44), v1 = _mm512_shuffle_i32x4(u0, u1, 0xEE);
  const __m512i v2 = _mm512_shuffle_i32x4(u2, u3, 0x44), v3 = _mm512_shuffle_i32x4(u2, u3, 0xEE);
  _mm512_storeu_si512(out, _mm512_shuffle_i32x4(v0, v2, 0x88));
  _mm512_storeu_si512(out + 16, _mm512_shuffle_i32x4(v0, v2, 0xDD));
  _mm512_storeu_si512(out + 32, _mm512_shuffle_i32x4(v1, v3, 0x88));
  _mm512_storeu_si512(out + 48, _mm512_shuffle_i32x4(v1, v3, 0xDD));
}

// ---- AVX2: 8 blocks per vector ----

struct State256 {
  __m256i c0, c1, c2, c3;
};

TERN_AVX2 inline void MulHiLo(__m256i x, __m256i m, __m256i* hi, __m256i* lo) {
  *lo = _mm256_mullo_epi32(x, m);
  const __m256i even = _mm256_mul_epu32(x, m);
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), m);
  *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

TERN_AVX2 inline void Round(State256* s, __m256i k0, __m256i k1) {
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(kMul0));
  const __m256i m1 = _mm256_set1_epi32(static_cast<int>(kMul1));
  __m256i hi0, lo0, hi1, lo1;
  MulHiLo(s->c0, m0, &hi0, &lo0);
  MulHiLo(s->c2, m1, &hi1, &lo1);
  s->c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, s->c1), k0);
  s->c1 = lo1;
  s->c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, s->c3), k1);
  s->c3 = lo0;
}

TERN_AVX2 inline State256 Counters256(uint64_t first, uint32_t a_lo, uint32_t b_lo) {
  const __m256i lo = _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(first)));
  const __m256i c0 = _mm256_add_epi32(lo, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  // Unsigned c0 < lo (the low word wrapped): flip the sign bits, compare signed.
  const __m256i bias = _mm256_set1_epi32(INT32_MIN);
  const __m256i carry =
      _mm256_cmpgt_epi32(_mm256_xor_si256(lo, bias), _mm256_xor_si256(c0, bias));  // -1 or 0
  const __m256i hi = _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(first >> 32)));
  return {c0, _mm256_sub_epi32(hi, carry), _mm256_set1_epi32(static_cast<int>(a_lo)),
          _mm256_set1_epi32(static_cast<int>(b_lo))};
}

TERN_AVX2 inline void Store256(const State256& s, uint32_t* out) {
  const __m256i t0 = _mm256_unpacklo_epi32(s.c0, s.c1), t1 = _mm256_unpackhi_epi32(s.c0, s.c1);
  const __m256i t2 = _mm256_unpacklo_epi32(s.c2, s.c3), t3 = _mm256_unpackhi_epi32(s.c2, s.c3);
  const __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
  const __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
  // u_r holds block 4L + r in 128-bit lane L.
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_permute2x128_si256(u0, u1, 0x20));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 8), _mm256_permute2x128_si256(u2, u3, 0x20));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 16), _mm256_permute2x128_si256(u0, u1, 0x31));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 24), _mm256_permute2x128_si256(u2, u3, 0x31));
}

}  // namespace

void PhiloxBlocksScalar(const PhiloxKey& key, uint64_t first, size_t blocks, uint32_t* out) {
  for (size_t j = 0; j < blocks; ++j) {
    const uint64_t b = first + j;
    const std::array<uint32_t, 4> w = Philox4x32(
        {static_cast<uint32_t>(b), static_cast<uint32_t>(b >> 32), key.a_lo, key.b_lo}, key.key);
    std::memcpy(out + 4 * j, w.data(), 16);
  }
}

TERN_AVX512 void PhiloxBlocksAvx512(const PhiloxKey& key, uint64_t first, size_t blocks,
                                    uint32_t* out) {
  size_t j = 0;
  for (; j + 32 <= blocks; j += 32) {
    State512 a = Counters512(first + j, key.a_lo, key.b_lo);
    State512 b = Counters512(first + j + 16, key.a_lo, key.b_lo);
    uint32_t k0 = key.key[0], k1 = key.key[1];
    for (int round = 0; round < 10; ++round) {
      const __m512i vk0 = _mm512_set1_epi32(static_cast<int>(k0));
      const __m512i vk1 = _mm512_set1_epi32(static_cast<int>(k1));
      Round(&a, vk0, vk1);
      Round(&b, vk0, vk1);
      k0 += kWeyl0;
      k1 += kWeyl1;
    }
    Store512(a, out + 4 * j);
    Store512(b, out + 4 * j + 64);
  }
  PhiloxBlocksScalar(key, first + j, blocks - j, out + 4 * j);
}

TERN_AVX2 void PhiloxBlocksAvx2(const PhiloxKey& key, uint64_t first, size_t blocks,
                                uint32_t* out) {
  size_t j = 0;
  for (; j + 16 <= blocks; j += 16) {
    State256 a = Counters256(first + j, key.a_lo, key.b_lo);
    State256 b = Counters256(first + j + 8, key.a_lo, key.b_lo);
    uint32_t k0 = key.key[0], k1 = key.key[1];
    for (int round = 0; round < 10; ++round) {
      const __m256i vk0 = _mm256_set1_epi32(static_cast<int>(k0));
      const __m256i vk1 = _mm256_set1_epi32(static_cast<int>(k1));
      Round(&a, vk0, vk1);
      Round(&b, vk0, vk1);
      k0 += kWeyl0;
      k1 += kWeyl1;
    }
    Store256(a, out + 4 * j);
    Store256(b, out + 4 * j + 32);
  }
  PhiloxBlocksScalar(key, first + j, blocks - j, out + 4 * j);
}

}  // namespace tern::codec::kernel_detail
