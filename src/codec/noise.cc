#include "codec/noise.h"

#include <immintrin.h>

#include <cstring>

#include "util/cpu.h"

namespace tern::codec {
namespace {

constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;

// GCC 12 warns about the undefined vectors inside its own intrinsics headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define TERN_AVX512 __attribute__((target("avx512f,avx512dq")))

// hi and lo halves of the 32x32-bit products of each lane with m.
TERN_AVX512 inline void MulHiLo(__m512i x, __m512i m, __m512i* hi, __m512i* lo) {
  *lo = _mm512_mullo_epi32(x, m);
  __m512i even = _mm512_mul_epu32(x, m);                       // lanes 0, 2, ... as 64 bits
  __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), m);  // lanes 1, 3, ...
  *hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
}

// 16 consecutive blocks starting at `block`, written as 64 words in stream order.
TERN_AVX512 void Philox16(uint64_t block, uint32_t a_lo, uint32_t b_lo, std::array<uint32_t, 2> key,
                          uint32_t* out) {
  const __m512i iota = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
  __m512i lo8 = _mm512_add_epi64(_mm512_set1_epi64(static_cast<long long>(block)), iota);
  __m512i hi8 = _mm512_add_epi64(_mm512_set1_epi64(static_cast<long long>(block + 8)), iota);
  // c0 = low 32 bits of each block number, c1 = high 32 bits.
  __m512i perm_lo = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  __m512i perm_hi = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  __m512i c0 = _mm512_permutex2var_epi32(lo8, perm_lo, hi8);
  __m512i c1 = _mm512_permutex2var_epi32(lo8, perm_hi, hi8);
  __m512i c2 = _mm512_set1_epi32(static_cast<int>(a_lo));
  __m512i c3 = _mm512_set1_epi32(static_cast<int>(b_lo));
  const __m512i m0 = _mm512_set1_epi32(static_cast<int>(kMul0));
  const __m512i m1 = _mm512_set1_epi32(static_cast<int>(kMul1));
  uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; ++round) {
    __m512i hi0, lo0, hi1, lo1;
    MulHiLo(c0, m0, &hi0, &lo0);
    MulHiLo(c2, m1, &hi1, &lo1);
    c0 = _mm512_xor_si512(_mm512_xor_si512(hi1, c1), _mm512_set1_epi32(static_cast<int>(k0)));
    c1 = lo1;
    c2 = _mm512_xor_si512(_mm512_xor_si512(hi0, c3), _mm512_set1_epi32(static_cast<int>(k1)));
    c3 = lo0;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  // Interleave: word 4j + r of the output is lane j of c_r.
  __m512i t0 = _mm512_unpacklo_epi32(c0, c1);  // per 128-bit lane: c0 c1 c0 c1 (blocks 4i, 4i+1)
  __m512i t1 = _mm512_unpackhi_epi32(c0, c1);  // blocks 4i+2, 4i+3
  __m512i t2 = _mm512_unpacklo_epi32(c2, c3);
  __m512i t3 = _mm512_unpackhi_epi32(c2, c3);
  __m512i b0 = _mm512_unpacklo_epi64(t0, t2);  // blocks 4i: c0 c1 c2 c3, 4i+1: ...
  __m512i b1 = _mm512_unpackhi_epi64(t0, t2);
  __m512i b2 = _mm512_unpacklo_epi64(t1, t3);
  __m512i b3 = _mm512_unpackhi_epi64(t1, t3);
  // b0 holds blocks 4i (i = 0..3, one per 128-bit lane), b1 blocks 4i+1, ...
  alignas(64) uint32_t w[4][16];
  _mm512_store_si512(w[0], b0);
  _mm512_store_si512(w[1], b1);
  _mm512_store_si512(w[2], b2);
  _mm512_store_si512(w[3], b3);
  for (int i = 0; i < 4; ++i) {
    for (int r = 0; r < 4; ++r) std::memcpy(out + 16 * i + 4 * r, &w[r][4 * i], 16);
  }
}

}  // namespace

NoiseWords::NoiseWords(uint64_t seed, RngPurpose purpose, uint64_t a, uint64_t b) {
  // As RngStream's constructor (util/philox.cc).
  uint64_t k = Mix64(seed);
  k = Mix64(k ^ static_cast<uint64_t>(purpose));
  k = Mix64(k ^ ((a >> 32) | ((b >> 32) << 32)));
  key_ = {static_cast<uint32_t>(k), static_cast<uint32_t>(k >> 32)};
  a_lo_ = static_cast<uint32_t>(a);
  b_lo_ = static_cast<uint32_t>(b);
}

void NoiseWords::FillScalar(uint64_t first, size_t n, uint32_t* out) const {
  uint64_t block = first / 4;
  size_t skip = first % 4, j = 0;
  while (j < n) {
    std::array<uint32_t, 4> w = Philox4x32(
        {static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), a_lo_, b_lo_}, key_);
    for (size_t r = skip; r < 4 && j < n; ++r) out[j++] = w[r];
    skip = 0;
    ++block;
  }
}

void NoiseWords::Fill(uint64_t first, size_t n, uint32_t* out) const {
  static const bool simd = Cpu().avx512f && Cpu().avx512dq;
  if (!simd) return FillScalar(first, n, out);
  size_t j = 0;
  const size_t head = static_cast<size_t>((4 - first % 4) % 4);  // to a block boundary
  if (head > 0) {
    FillScalar(first, head < n ? head : n, out);
    j = head < n ? head : n;
  }
  for (; j + 64 <= n; j += 64) Philox16((first + j) / 4, a_lo_, b_lo_, key_, out + j);
  if (j < n) FillScalar(first + j, n - j, out + j);
}

}  // namespace tern::codec
