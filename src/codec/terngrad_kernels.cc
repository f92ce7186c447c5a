// The TernGrad kernels of the tables (kernels.h): the clipped max and the
// trits, packed five per byte. The SIMD versions decide 16 (AVX-512) or 8
// (AVX2) values per step into a small buffer of trit bytes; a multiply then
// packs five of those bytes into one.
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "codec/kernels.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define TERN_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))
#define TERN_AVX2 __attribute__((target("avx2")))

namespace tern::codec::kernel_detail {
namespace {

// t + 1 for one value: 2 (+s), 0 (-s) or 1 (zero).
inline uint8_t TritOne(float x, float c, float s, bool zero, uint32_t noise) {
  const float a = std::min(std::fabs(x), c);
  const bool keep = !zero && U01(noise) < a / s;
  return keep ? (std::signbit(x) ? 0 : 2) : 1;
}

// Byte j of out packs trits[5j .. 5j + 4] (sum t_r 3^r). With the five
// bytes read as one little-endian word, byte 4 of word * K is exactly that
// sum: every partial sum stays below 256, so no carry crosses a byte, and
// the bytes past the five only reach byte 5 and up. REQUIRES: 8 readable
// bytes at trits + 5j for each j.
inline void PackTrits(const uint8_t* trits, size_t bytes, uint8_t* out) {
  constexpr uint64_t kWeights = 81 | (27u << 8) | (9u << 16) | (3u << 24) | (uint64_t{1} << 32);
  for (size_t j = 0; j < bytes; ++j) {
    uint64_t w;
    std::memcpy(&w, trits + 5 * j, 8);
    out[j] = static_cast<uint8_t>((w * kWeights) >> 32);
  }
}

// The scalar tail: values [i, n), i a multiple of 5.
void TritsTail(const float* x, size_t i, size_t n, float c, float s, bool zero,
               const uint32_t* noise, uint8_t* out) {
  for (; i < n; i += 5) {
    unsigned byte = 0, pow3 = 1;
    for (size_t j = i; j < std::min(n, i + 5); ++j, pow3 *= 3) {
      byte += TritOne(x[j], c, s, zero, noise[j]) * pow3;
    }
    out[i / 5] = static_cast<uint8_t>(byte);
  }
}

}  // namespace

float ClippedMaxScalar(const float* x, size_t n, float c) {
  float s = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    const float a = std::min(std::fabs(x[i]), c);
    s = a > s ? a : s;  // NaN ignored
  }
  return s;
}

void TernGradTritsScalar(const float* x, size_t n, float c, float s, bool zero,
                         const uint32_t* noise, uint8_t* out) {
  TritsTail(x, 0, n, c, s, zero, noise, out);
}

TERN_AVX512 float ClippedMaxAvx512(const float* x, size_t n, float c) {
  const __m512 vc = _mm512_set1_ps(c);
  const __m512i abs = _mm512_set1_epi32(0x7FFFFFFF);
  __m512 m0 = _mm512_setzero_ps(), m1 = m0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    // min(c, |x|) is std::min(|x|, c) (|x| when NaN); MAXPS(a, m) drops a NaN a.
    const __m512 a0 = _mm512_castsi512_ps(_mm512_and_si512(_mm512_loadu_si512(x + i), abs));
    const __m512 a1 = _mm512_castsi512_ps(_mm512_and_si512(_mm512_loadu_si512(x + i + 16), abs));
    m0 = _mm512_max_ps(_mm512_min_ps(vc, a0), m0);
    m1 = _mm512_max_ps(_mm512_min_ps(vc, a1), m1);
  }
  const float m = _mm512_reduce_max_ps(_mm512_max_ps(m0, m1));  // no NaN lanes
  const float tail = ClippedMaxScalar(x + i, n - i, c);
  return tail > m ? tail : m;
}

TERN_AVX512 void TernGradTritsAvx512(const float* x, size_t n, float c, float s, bool zero,
                                     const uint32_t* noise, uint8_t* out) {
  const __m512 vc = _mm512_set1_ps(c), vs = _mm512_set1_ps(s);
  const __m512 ulp = _mm512_set1_ps(1.0f / 16777216.0f);
  const __m512i abs = _mm512_set1_epi32(0x7FFFFFFF), one = _mm512_set1_epi32(1);
  const __mmask16 live = zero ? 0 : 0xFFFF;
  alignas(64) uint8_t trits[80 + 8] = {};
  size_t i = 0;
  for (; i + 80 <= n; i += 80) {
    for (int g = 0; g < 5; ++g) {
      const size_t k = i + 16 * static_cast<size_t>(g);
      const __m512i v = _mm512_loadu_si512(x + k);
      const __m512 a = _mm512_min_ps(vc, _mm512_castsi512_ps(_mm512_and_si512(v, abs)));
      const __m512 u = _mm512_mul_ps(
          _mm512_cvtepi32_ps(_mm512_srli_epi32(_mm512_loadu_si512(noise + k), 8)), ulp);
      const __mmask16 keep = _mm512_mask_cmp_ps_mask(live, u, _mm512_div_ps(a, vs), _CMP_LT_OQ);
      const __mmask16 neg = _mm512_movepi32_mask(v);
      // 1, then +1 where kept and positive, -1 where kept and negative.
      __m512i t = _mm512_mask_add_epi32(one, keep & ~neg, one, one);
      t = _mm512_mask_sub_epi32(t, keep & neg, t, one);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(trits + 16 * g), _mm512_cvtepi32_epi8(t));
    }
    PackTrits(trits, 16, out + i / 5);
  }
  TritsTail(x, i, n, c, s, zero, noise, out);
}

TERN_AVX2 float ClippedMaxAvx2(const float* x, size_t n, float c) {
  const __m256 vc = _mm256_set1_ps(c);
  const __m256 abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  __m256 m0 = _mm256_setzero_ps(), m1 = m0;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    m0 = _mm256_max_ps(_mm256_min_ps(vc, _mm256_and_ps(_mm256_loadu_ps(x + i), abs)), m0);
    m1 = _mm256_max_ps(_mm256_min_ps(vc, _mm256_and_ps(_mm256_loadu_ps(x + i + 8), abs)), m1);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, _mm256_max_ps(m0, m1));
  float m = ClippedMaxScalar(lanes, 8, INFINITY);
  const float tail = ClippedMaxScalar(x + i, n - i, c);
  return tail > m ? tail : m;
}

TERN_AVX2 void TernGradTritsAvx2(const float* x, size_t n, float c, float s, bool zero,
                                 const uint32_t* noise, uint8_t* out) {
  const __m256 vc = _mm256_set1_ps(c), vs = _mm256_set1_ps(s);
  const __m256 ulp = _mm256_set1_ps(1.0f / 16777216.0f);
  const __m256 abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  const __m256i live = _mm256_set1_epi32(zero ? 0 : -1), one = _mm256_set1_epi32(1);
  alignas(32) uint8_t trits[40 + 8] = {};
  size_t i = 0;
  for (; i + 40 <= n; i += 40) {
    for (int g = 0; g < 5; ++g) {
      const size_t k = i + 8 * static_cast<size_t>(g);
      const __m256 v = _mm256_loadu_ps(x + k);
      const __m256 a = _mm256_min_ps(vc, _mm256_and_ps(v, abs));
      const __m256 u = _mm256_mul_ps(
          _mm256_cvtepi32_ps(_mm256_srli_epi32(
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(noise + k)), 8)),
          ulp);
      const __m256i keep =
          _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(u, _mm256_div_ps(a, vs), _CMP_LT_OQ)), live);
      const __m256i neg = _mm256_srai_epi32(_mm256_castps_si256(v), 31);
      // 1 + keep * (neg ? -1 : +1): (keep & 1) negated where neg.
      const __m256i d = _mm256_and_si256(keep, one);
      const __m256i t = _mm256_add_epi32(one, _mm256_sub_epi32(_mm256_xor_si256(d, neg), neg));
      const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(trits + 8 * g), _mm_packus_epi16(w16, w16));
    }
    PackTrits(trits, 8, out + i / 5);
  }
  TritsTail(x, i, n, c, s, zero, noise, out);
}

}  // namespace tern::codec::kernel_detail
