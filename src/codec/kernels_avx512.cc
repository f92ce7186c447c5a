// AVX-512 kernels (kernels.h), compiled with target attributes and chosen at
// run time; bit-identical to kernels_scalar.cc (kernels_test.cc).
#include <immintrin.h>

#include <cfloat>
#include <cstring>

#include "codec/kernels.h"
#include "util/cpu.h"

// GCC 12 warns about the undefined vectors inside its own intrinsics headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define TERN_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,bmi2,popcnt")))

namespace tern::codec {
namespace {

using kernel_detail::Fp4Exponent;
using kernel_detail::Pow2;

TERN_AVX512 inline __mmask16 TailMask(size_t r) {
  return static_cast<__mmask16>(r >= 16 ? 0xFFFF : (1u << r) - 1);
}

TERN_AVX512 inline __m512 AbsPs(__m512 v) {
  return _mm512_castsi512_ps(
      _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7FFFFFFF)));
}

// max|x| over n values; MAXPS(a, m) drops NaN a, like the scalar loop.
TERN_AVX512 float MaxAbs512(const float* x, size_t n) {
  __m512 m0 = _mm512_setzero_ps(), m1 = m0, m2 = m0, m3 = m0;
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    m0 = _mm512_max_ps(AbsPs(_mm512_loadu_ps(x + i)), m0);
    m1 = _mm512_max_ps(AbsPs(_mm512_loadu_ps(x + i + 16)), m1);
    m2 = _mm512_max_ps(AbsPs(_mm512_loadu_ps(x + i + 32)), m2);
    m3 = _mm512_max_ps(AbsPs(_mm512_loadu_ps(x + i + 48)), m3);
  }
  for (; i < n; i += 16) {
    m0 = _mm512_max_ps(AbsPs(_mm512_maskz_loadu_ps(TailMask(n - i), x + i)), m0);
  }
  m0 = _mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3));
  return _mm512_reduce_max_ps(m0);
}

TERN_AVX512 void QuantBlocks(const float* x, size_t n, size_t block, int qmax,
                             const uint32_t* noise, uint8_t* scales, int8_t* q) {
  const float fq = static_cast<float>(qmax);
  const __m512 vq = _mm512_set1_ps(fq), vnq = _mm512_set1_ps(-fq);
  const __m512 ulp = _mm512_set1_ps(1.0f / 16777216.0f);
  for (size_t s = 0, b = 0; s < n; s += block, ++b) {
    size_t len = n - s < block ? n - s : block;
    float m = MaxAbs512(x + s, len);
    if (!(m >= FLT_MIN)) {
      StoreF32(scales + 4 * b, 0.0f);
      std::memset(q + s, 0, len);
      continue;
    }
    StoreF32(scales + 4 * b, m / fq);
    const __m512 vinv = _mm512_set1_ps(fq / m);
    for (size_t i = 0; i < len; i += 16) {
      __mmask16 k = TailMask(len - i);
      __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + s + i), vinv);
      v = _mm512_max_ps(_mm512_min_ps(v, vq), vnq);
      __m512i qi;
      if (noise == nullptr) {
        qi = _mm512_cvt_roundps_epi32(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      } else {
        __m512i w = _mm512_srli_epi32(_mm512_maskz_loadu_epi32(k, noise + s + i), 8);
        __m512 u = _mm512_mul_ps(_mm512_cvtepi32_ps(w), ulp);
        __m512 r = _mm512_roundscale_ps(_mm512_add_ps(v, u), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
        qi = _mm512_cvtps_epi32(_mm512_min_ps(r, vq));
      }
      if (k == 0xFFFF) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(q + s + i), _mm512_cvtepi32_epi8(qi));
      } else {
        _mm512_mask_cvtepi32_storeu_epi8(q + s + i, k, qi);
      }
    }
  }
}

TERN_AVX512 void DequantInt8(const uint8_t* scales, const int8_t* q, size_t n, size_t block,
                             float* out, Mode mode) {
  for (size_t s = 0, b = 0; s < n; s += block, ++b) {
    size_t len = n - s < block ? n - s : block;
    const __m512 sc = _mm512_set1_ps(LoadF32(scales + 4 * b));
    for (size_t i = 0; i < len; i += 16) {
      __mmask16 k = TailMask(len - i);
      __m128i qb = _mm_maskz_loadu_epi8(k, q + s + i);
      __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(qb)), sc);
      float* o = out + s + i;
      if (mode == Mode::kAdd) {
        v = _mm512_add_ps(_mm512_maskz_loadu_ps(k, o), v);
      } else if (mode == Mode::kSubtract) {
        v = _mm512_sub_ps(_mm512_maskz_loadu_ps(k, o), v);
      }
      _mm512_mask_storeu_ps(o, k, v);
    }
  }
}

// Lane fold of kernels.h: lane[j] += lane[j + w] for w = 8, 4, 2, 1.
TERN_AVX512 inline float FoldLanes(__m512 acc) {
  __m256 a8 = _mm256_add_ps(_mm512_castps512_ps256(acc), _mm512_extractf32x8_ps(acc, 1));
  __m128 a4 = _mm_add_ps(_mm256_castps256_ps128(a8), _mm256_extractf128_ps(a8, 1));
  __m128 a2 = _mm_add_ps(a4, _mm_movehl_ps(a4, a4));
  __m128 a1 = _mm_add_ss(a2, _mm_movehdup_ps(a2));
  return _mm_cvtss_f32(a1);
}

TERN_AVX512 void SignPack(const float* x, size_t n, size_t block, bool l2, uint8_t* scales,
                          uint8_t* bits) {
  const __m512 zero = _mm512_setzero_ps();
  for (size_t s = 0, b = 0; s < n; s += block, ++b) {
    size_t len = n - s < block ? n - s : block;
    double total = 0.0;
    for (size_t g = 0; g < len; g += 256) {
      size_t glen = len - g < 256 ? len - g : 256;
      __m512 acc = zero;
      for (size_t j = 0; j < glen; j += 16) {
        size_t i = s + g + j;
        __mmask16 k = TailMask(glen - j);
        __m512 v = _mm512_maskz_loadu_ps(k, x + i);
        acc = _mm512_add_ps(acc, l2 ? _mm512_mul_ps(v, v) : AbsPs(v));
        uint32_t m = _mm512_mask_cmp_ps_mask(k, v, zero, _CMP_GE_OQ);
        if (k == 0xFFFF) {
          std::memcpy(bits + i / 8, &m, 2);
        } else {
          bits[i / 8] = static_cast<uint8_t>(m);
          if (glen - j > 8) bits[i / 8 + 1] = static_cast<uint8_t>(m >> 8);
        }
      }
      total += static_cast<double>(FoldLanes(acc));
    }
    double mean = total / static_cast<double>(len);
    StoreStat(scales + 4 * b, static_cast<float>(l2 ? std::sqrt(mean) : mean));
  }
}

// One vector of the select pass: compares 16 magnitudes with thr, packs the
// hits' positions and values to the front of two registers (VPCOMPRESS into
// a register, not to memory: the memory form is microcoded on AMD) and
// stores both whole vectors at the write cursor, which then advances by the
// hit count. No branch on the data, so the pass runs at read bandwidth.
TERN_AVX512 inline size_t SelectVector(__m512 v, __mmask16 valid, __m512i vthr, __m512i idx,
                                       uint32_t* pos, float* val, size_t c) {
  const __m512i a = _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7FFFFFFF));
  const __mmask16 hit = _mm512_mask_cmpge_epu32_mask(valid, a, vthr);
  _mm512_storeu_si512(pos + c, _mm512_maskz_compress_epi32(hit, idx));
  _mm512_storeu_ps(val + c, _mm512_maskz_compress_ps(hit, v));
  return c + static_cast<size_t>(__builtin_popcount(hit));
}

TERN_AVX512 size_t SelectAbsGe(const float* x, size_t n, uint32_t thr, uint32_t base,
                               uint32_t* pos, float* val, size_t cap) {
  const __m512i vthr = _mm512_set1_epi32(static_cast<int>(thr));
  const __m512i sixteen = _mm512_set1_epi32(16);
  __m512i idx = _mm512_add_epi32(
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
      _mm512_set1_epi32(static_cast<int>(base)));
  size_t c = 0, i = 0;
  // At most 64 hits per step: with c <= cap on entry, stores stay below
  // cap + kSelectSlack.
  for (; i + 64 <= n; i += 64) {
    for (int j = 0; j < 4; ++j) {
      c = SelectVector(_mm512_loadu_ps(x + i + 16 * j), 0xFFFF, vthr, idx, pos, val, c);
      idx = _mm512_add_epi32(idx, sixteen);
    }
    if (c > cap) return cap + 1;
  }
  for (; i < n; i += 16) {
    const __mmask16 k = TailMask(n - i);
    c = SelectVector(_mm512_maskz_loadu_ps(k, x + i), k, vthr, idx, pos, val, c);
    idx = _mm512_add_epi32(idx, sixteen);
  }
  return c > cap ? cap + 1 : c;
}

// Nearest: the code counts the midpoints below a; even codes c win ties
// with c + 1, so the compare is '>' when c is even and '>=' when odd.
TERN_AVX512 inline __m512i Fp4Nearest(__m512 a, const float* mid) {
  const __m512i one = _mm512_set1_epi32(1);
  __m512i c = _mm512_setzero_si512();
  for (int t = 0; t < 7; t += 2) {
    c = _mm512_mask_add_epi32(c, _mm512_cmp_ps_mask(a, _mm512_set1_ps(mid[t]), _CMP_GT_OQ), c, one);
    if (t + 1 < 7) {
      c = _mm512_mask_add_epi32(c, _mm512_cmp_ps_mask(a, _mm512_set1_ps(mid[t + 1]), _CMP_GE_OQ),
                                c, one);
    }
  }
  return c;
}

// Stochastic: lo = the grid values <= a, up with probability (a - lo) / gap.
TERN_AVX512 inline __m512i Fp4Stochastic(__m512 a, __m512 values, __m512 inv_gap,
                                         const float* grid, const uint32_t* noise) {
  const __m512i one = _mm512_set1_epi32(1);
  __m512i lo = _mm512_setzero_si512();
  for (int c = 1; c < 8; ++c) {
    lo = _mm512_mask_add_epi32(lo, _mm512_cmp_ps_mask(a, _mm512_set1_ps(grid[c]), _CMP_GE_OQ), lo,
                               one);
  }
  const __m512 p = _mm512_mul_ps(_mm512_sub_ps(a, _mm512_permutexvar_ps(lo, values)),
                                 _mm512_permutexvar_ps(lo, inv_gap));
  const __m512 u = _mm512_mul_ps(
      _mm512_cvtepi32_ps(_mm512_srli_epi32(_mm512_loadu_si512(noise), 8)),
      _mm512_set1_ps(1.0f / 16777216.0f));
  const __mmask16 up = _mm512_cmplt_epi32_mask(lo, _mm512_set1_epi32(7)) &
                       _mm512_cmp_ps_mask(u, p, _CMP_LT_OQ);
  return _mm512_mask_add_epi32(lo, up, lo, one);
}

TERN_AVX512 void Fp4Codes(const float* x, size_t n, size_t block, bool e3m0,
                          const uint32_t* noise, uint8_t* scales, uint8_t* codes) {
  static constexpr float kE2M1Mid[7] = {0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f};
  static constexpr float kE3M0Mid[7] = {0.0078125f, 0.0234375f, 0.046875f, 0.09375f,
                                        0.1875f,    0.375f,     0.75f};
  const float* mid = e3m0 ? kE3M0Mid : kE2M1Mid;
  const float* grid = e3m0 ? kernel_detail::kE3M0Values : kernel_detail::kE2M1Values;
  const float* gaps = e3m0 ? kernel_detail::kE3M0InvGap : kernel_detail::kE2M1InvGap;
  const __m512 values = _mm512_castps256_ps512(_mm256_loadu_ps(grid));
  const __m512 inv_gap = _mm512_castps256_ps512(_mm256_loadu_ps(gaps));
  for (size_t s = 0, b = 0; s < n; s += block, ++b) {
    size_t len = n - s < block ? n - s : block;
    int e = Fp4Exponent(MaxAbs512(x + s, len), e3m0);
    scales[b] = static_cast<uint8_t>(e + 127);
    const __m512 vinv = _mm512_set1_ps(Pow2(-e));
    size_t i = 0;
    for (; i < len; i += 16) {
      if (noise != nullptr && len - i < 16) break;  // the noise words end with the values
      __mmask16 k = TailMask(len - i);
      __m512 v = _mm512_maskz_loadu_ps(k, x + s + i);
      __m512 a = _mm512_mul_ps(AbsPs(v), vinv);
      __m512i c = noise ? Fp4Stochastic(a, values, inv_gap, grid, noise + s + i)
                        : Fp4Nearest(a, mid);
      __m512i sign = _mm512_srli_epi32(
          _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(INT32_MIN)), 28);
      c = _mm512_or_si512(c, sign);
      if (k == 0xFFFF) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(codes + s + i), _mm512_cvtepi32_epi8(c));
      } else {
        _mm512_mask_cvtepi32_storeu_epi8(codes + s + i, k, c);
      }
    }
    const float inv = Pow2(-e);
    for (; i < len; ++i) {
      codes[s + i] = kernel_detail::Fp4StochasticOne(x[s + i], inv, e3m0, noise[s + i]);
    }
  }
}

// tern::FloatToBF16: NaN -> (u >> 16) | 0x40, else (u + 0x7FFF + lsb) >> 16.
TERN_AVX512 void ToBf16(const float* x, size_t n, uint8_t* out) {
  const __m512i abs = _mm512_set1_epi32(0x7FFFFFFF), inf = _mm512_set1_epi32(0x7F800000);
  const __m512i bias = _mm512_set1_epi32(0x7FFF), one = _mm512_set1_epi32(1);
  for (size_t i = 0; i < n; i += 16) {
    __mmask16 k = TailMask(n - i);
    __m512i u = _mm512_maskz_loadu_epi32(k, x + i);
    __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, abs), inf);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), one);
    __m512i r = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, bias), lsb), 16);
    r = _mm512_mask_or_epi32(r, nan, _mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
    if (k == 0xFFFF) {  // the register form: VPMOVDW to memory is slow
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 2 * i), _mm512_cvtepi32_epi16(r));
    } else {
      _mm512_mask_cvtepi32_storeu_epi16(out + 2 * i, k, r);
    }
  }
}

// 16 nibbles (8 bytes) to 16 table lookups with one VPERMPS.
TERN_AVX512 void NibbleLut(const uint8_t* packed, size_t first, size_t n, const float* lut,
                           float* out) {
  size_t j = 0;
  if (first % 2 == 1 && n > 0) {  // align to a whole byte
    out[j++] = lut[packed[first / 2] >> 4];
  }
  const __m512 table = _mm512_loadu_ps(lut);
  const uint8_t* p = packed + (first + j) / 2;
  for (; j + 16 <= n; j += 16, p += 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    __m128i bytes = _mm_cvtsi64_si128(static_cast<long long>(w));
    __m128i lo = _mm_and_si128(bytes, _mm_set1_epi8(0x0F));
    __m128i hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), _mm_set1_epi8(0x0F));
    __m512i idx = _mm512_cvtepu8_epi32(_mm_unpacklo_epi8(lo, hi));
    _mm512_storeu_ps(out + j, _mm512_permutexvar_ps(idx, table));
  }
  ScalarKernels().nibble_lut(packed, first + j, n - j, lut, out + j);
}

TERN_AVX512 void Lut8Codes(const float* x, size_t n, float scale, bool zero, uint8_t* codes) {
  const __m512 vscale = _mm512_set1_ps(scale), bias = _mm512_set1_ps(128.0f);
  const __m512 top = _mm512_set1_ps(255.0f), zero_v = _mm512_setzero_ps();
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 k = TailMask(n - i);
    const __m512 v = _mm512_maskz_loadu_ps(k, x + i);
    __m512 r = zero ? zero_v
                    : _mm512_add_ps(_mm512_roundscale_ps(_mm512_div_ps(v, vscale),
                                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC),
                                    bias);
    r = _mm512_max_ps(_mm512_min_ps(r, top), zero_v);
    r = _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), bias);
    const __m512i q = _mm512_cvtps_epi32(r);
    if (k == 0xFFFF) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(codes + i), _mm512_cvtepi32_epi8(q));
    } else {
      _mm512_mask_cvtepi32_storeu_epi8(codes + i, k, q);
    }
  }
}

TERN_AVX512 void NearestCentroid(const float* v, size_t n, const float* c, int nc,
                                 uint8_t* ids) {
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 k = TailMask(n - i);
    const __m512 x = _mm512_maskz_loadu_ps(k, v + i);
    __m512 bd = AbsPs(_mm512_sub_ps(x, _mm512_set1_ps(c[0])));
    __m512i best = _mm512_setzero_si512();
    for (int j = 1; j < nc; ++j) {
      const __m512 d = AbsPs(_mm512_sub_ps(x, _mm512_set1_ps(c[j])));
      const __mmask16 closer = _mm512_cmp_ps_mask(d, bd, _CMP_LT_OQ);
      bd = _mm512_mask_mov_ps(bd, closer, d);
      best = _mm512_mask_mov_epi32(best, closer, _mm512_set1_epi32(j));
    }
    if (k == 0xFFFF) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(ids + i), _mm512_cvtepi32_epi8(best));
    } else {
      _mm512_mask_cvtepi32_storeu_epi8(ids + i, k, best);
    }
  }
}

}  // namespace

const Kernels* Avx512Kernels() {
  const CpuFeatures& f = Cpu();
  if (!(f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.bmi2)) return nullptr;
  static const Kernels k = {
      .name = "avx512",
      .quant_blocks = QuantBlocks,
      .dequant_int8 = DequantInt8,
      .sign_pack = SignPack,
      .select_abs_ge = SelectAbsGe,
      .fp4_codes = Fp4Codes,
      .to_bf16 = ToBf16,
      .nibble_lut = NibbleLut,
      .fixed_sum = kernel_detail::FixedSumAvx2,
      .block_norms = kernel_detail::BlockNormsAvx2,
      .qsgd_codes = kernel_detail::QsgdCodesAvx512,
      .qsgd_values = kernel_detail::QsgdValuesAvx512,
      .clipped_max = kernel_detail::ClippedMaxAvx512,
      .terngrad_trits = kernel_detail::TernGradTritsAvx512,
      .lut8_codes = Lut8Codes,
      .nearest_centroid = NearestCentroid,
      .rice_codes = kernel_detail::RiceCodesAvx512,
      .philox = kernel_detail::PhiloxBlocksAvx512,
  };
  return &k;
}

}  // namespace tern::codec
