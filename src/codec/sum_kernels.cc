// Double sums in FixedSum's order (codec_util.h: value i to lane i % 4, then
// (a0 + a1) + (a2 + a3)) for the kernel tables. The order fixes one chain of
// adds per lane, so a single sum cannot go faster than one 4-lane add per
// four values; what the SIMD versions win is keeping that chain in one
// register (compilers spill it) and, for per-block norms, running four
// blocks' chains side by side.
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "codec/kernels.h"

#define TERN_AVX2 __attribute__((target("avx2")))

namespace tern::codec::kernel_detail {
namespace {

// The four lanes' terms of x[0..3] (r >= 4) or of x[0..r) padded with zero
// terms. A lane sum starts at +0 and so is never -0 (x + y is -0 only when
// both are), which a +0 term leaves unchanged.
template <SumTerm kTerm>
TERN_AVX2 inline __m256d Terms(const float* x, size_t r, __m256d mean) {
  __m256d d;
  if (r >= 4) {
    d = _mm256_cvtps_pd(_mm_loadu_ps(x));
  } else {
    alignas(16) float pad[4] = {};
    std::memcpy(pad, x, 4 * r);
    d = _mm256_cvtps_pd(_mm_load_ps(pad));
    if (kTerm == SumTerm::kCenteredSquare) {  // a padded lane's term must be +0
      const __m256d valid = _mm256_castsi256_pd(_mm256_cmpgt_epi64(
          _mm256_set1_epi64x(static_cast<long long>(r)), _mm256_setr_epi64x(0, 1, 2, 3)));
      const __m256d c = _mm256_sub_pd(d, mean);
      return _mm256_and_pd(_mm256_mul_pd(c, c), valid);
    }
  }
  if (kTerm == SumTerm::kValue) return d;
  if (kTerm == SumTerm::kSquare) return _mm256_mul_pd(d, d);
  const __m256d c = _mm256_sub_pd(d, mean);
  return _mm256_mul_pd(c, c);
}

TERN_AVX2 inline double Combine(__m256d acc) {
  alignas(32) double a[4];
  _mm256_store_pd(a, acc);
  return (a[0] + a[1]) + (a[2] + a[3]);
}

template <SumTerm kTerm>
TERN_AVX2 double FixedSumAvx2Of(const float* x, size_t n, double mean) {
  const __m256d m = _mm256_set1_pd(mean);
  __m256d acc = _mm256_setzero_pd();
  for (size_t i = 0; i < n; i += 4) acc = _mm256_add_pd(acc, Terms<kTerm>(x + i, n - i, m));
  return Combine(acc);
}

}  // namespace

double FixedSumScalar(const float* x, size_t n, SumTerm term, double mean) {
  switch (term) {
    case SumTerm::kValue:
      return SumOf(x, n);
    case SumTerm::kSquare:
      return SumOfSquares(x, n);
    case SumTerm::kCenteredSquare:
      return SumOfCenteredSquares(x, n, mean);
  }
  return 0.0;
}

TERN_AVX2 double FixedSumAvx2(const float* x, size_t n, SumTerm term, double mean) {
  switch (term) {
    case SumTerm::kValue:
      return FixedSumAvx2Of<SumTerm::kValue>(x, n, mean);
    case SumTerm::kSquare:
      return FixedSumAvx2Of<SumTerm::kSquare>(x, n, mean);
    case SumTerm::kCenteredSquare:
      return FixedSumAvx2Of<SumTerm::kCenteredSquare>(x, n, mean);
  }
  return 0.0;
}

void BlockNormsScalar(const float* x, size_t n, size_t block, float* norms) {
  for (size_t s = 0, b = 0; s < n; s += block, ++b) {
    const size_t len = n - s < block ? n - s : block;
    norms[b] = static_cast<float>(std::sqrt(SumOfSquares(x + s, len)));
  }
}

TERN_AVX2 void BlockNormsAvx2(const float* x, size_t n, size_t block, float* norms) {
  const __m256d unused = _mm256_setzero_pd();
  size_t b = 0;
  for (; (b + 4) * block <= n; b += 4) {  // four whole blocks, four chains
    const float* p = x + b * block;
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t j = 0; j < block; j += 4) {
      const size_t r = block - j;
      a0 = _mm256_add_pd(a0, Terms<SumTerm::kSquare>(p + j, r, unused));
      a1 = _mm256_add_pd(a1, Terms<SumTerm::kSquare>(p + block + j, r, unused));
      a2 = _mm256_add_pd(a2, Terms<SumTerm::kSquare>(p + 2 * block + j, r, unused));
      a3 = _mm256_add_pd(a3, Terms<SumTerm::kSquare>(p + 3 * block + j, r, unused));
    }
    norms[b] = static_cast<float>(std::sqrt(Combine(a0)));
    norms[b + 1] = static_cast<float>(std::sqrt(Combine(a1)));
    norms[b + 2] = static_cast<float>(std::sqrt(Combine(a2)));
    norms[b + 3] = static_cast<float>(std::sqrt(Combine(a3)));
  }
  for (size_t s = b * block; s < n; s += block, ++b) {
    norms[b] = static_cast<float>(std::sqrt(FixedSumAvx2Of<SumTerm::kSquare>(
        x + s, n - s < block ? n - s : block, 0.0)));
  }
}

}  // namespace tern::codec::kernel_detail
