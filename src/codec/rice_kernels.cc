// The Rice code kernels of the tables (kernels.h): each gap's code and
// length computed independently (8 per AVX-512 step), so the bit writer
// only has to join and append them (index_coder.cc).
#include <immintrin.h>

#include "codec/kernels.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define TERN_AVX512 __attribute__((target("avx512f,avx512dq")))

namespace tern::codec::kernel_detail {
namespace {

inline void RiceOne(uint64_t g, int k, uint64_t* code, uint64_t* len) {
  const uint64_t q = g >> k;
  *len = q + 1 + static_cast<uint64_t>(k);
  *code = *len > kRiceMaxCodeBits
              ? 0
              : ((uint64_t{1} << q) - 1) | ((g & ((uint64_t{1} << k) - 1)) << (q + 1));
}

}  // namespace

void RiceCodesScalar(const uint32_t* pos, size_t count, uint64_t prev, int k, uint64_t* code,
                     uint64_t* len) {
  for (size_t j = 0; j < count; ++j) {
    RiceOne(pos[j] - prev, k, code + j, len + j);
    prev = uint64_t{pos[j]} + 1;
  }
}

TERN_AVX512 void RiceCodesAvx512(const uint32_t* pos, size_t count, uint64_t prev, int k,
                                 uint64_t* code, uint64_t* len) {
  const __m512i one = _mm512_set1_epi64(1);
  const __m512i low_mask = _mm512_set1_epi64(static_cast<long long>((uint64_t{1} << k) - 1));
  const __m512i k1 = _mm512_set1_epi64(k + 1);
  const __m512i max_bits = _mm512_set1_epi64(kRiceMaxCodeBits);
  const __m128i shift = _mm_cvtsi32_si128(k);
  // Lane 7 holds the position before the next vector's first, minus 1
  // (wrapping for prev = 0, which the subtraction below undoes).
  __m512i carry = _mm512_set1_epi64(static_cast<long long>(prev - 1));
  size_t j = 0;
  for (; j + 8 <= count; j += 8) {
    const __m512i p =
        _mm512_cvtepu32_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(pos + j)));
    const __m512i g = _mm512_sub_epi64(_mm512_sub_epi64(p, _mm512_alignr_epi64(p, carry, 7)), one);
    const __m512i q = _mm512_srl_epi64(g, shift);
    const __m512i l = _mm512_add_epi64(q, k1);
    // SLLV by 64 or more gives 0; such lanes are long codes, zeroed as the
    // scalar version does.
    const __m512i c = _mm512_or_si512(
        _mm512_sub_epi64(_mm512_sllv_epi64(one, q), one),
        _mm512_sllv_epi64(_mm512_and_si512(g, low_mask), _mm512_add_epi64(q, one)));
    _mm512_storeu_si512(code + j, _mm512_maskz_mov_epi64(_mm512_cmple_epu64_mask(l, max_bits), c));
    _mm512_storeu_si512(len + j, l);
    carry = p;
  }
  if (j < count) RiceCodesScalar(pos + j, count - j, j > 0 ? uint64_t{pos[j - 1]} + 1 : prev, k,
                                 code + j, len + j);
}

}  // namespace tern::codec::kernel_detail
