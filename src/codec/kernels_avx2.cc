// AVX2 kernels (kernels.h), compiled with target attributes and chosen at run
// time; bit-identical to kernels_scalar.cc (kernels_test.cc). Partial
// vectors go through the scalar element helpers, which compute the same bits.
#include <immintrin.h>

#include <atomic>
#include <cfloat>
#include <cstring>

#include "codec/kernels.h"
#include "util/cpu.h"

#define TERN_AVX2 __attribute__((target("avx2,bmi2,popcnt")))

namespace tern::codec {
namespace {

using kernel_detail::Fp4Exponent;
using kernel_detail::Fp4One;
using kernel_detail::Pow2;
using kernel_detail::QuantOne;

TERN_AVX2 inline __m256 AbsPs(__m256 v) {
  return _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF)));
}

TERN_AVX2 float MaxAbs256(const float* x, size_t n) {
  __m256 m0 = _mm256_setzero_ps(), m1 = m0;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    m0 = _mm256_max_ps(AbsPs(_mm256_loadu_ps(x + i)), m0);
    m1 = _mm256_max_ps(AbsPs(_mm256_loadu_ps(x + i + 8)), m1);
  }
  m0 = _mm256_max_ps(m0, m1);
  float lanes[8];
  _mm256_storeu_ps(lanes, m0);
  float m = kernel_detail::MaxAbs(lanes, 8);
  float tail = kernel_detail::MaxAbs(x + i, n - i);
  return tail > m ? tail : m;
}

// 8 rounded values to 8 int8 codes.
TERN_AVX2 inline void Store8(__m256 r, int8_t* q) {
  __m256i qi = _mm256_cvtps_epi32(r);  // r is integral already
  __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(qi), _mm256_extracti128_si256(qi, 1));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(q), _mm_packs_epi16(w16, w16));
}

TERN_AVX2 void QuantBlocks(const float* x, size_t n, size_t block, int qmax,
                           const uint32_t* noise, uint8_t* scales, int8_t* q) {
  const float fq = static_cast<float>(qmax);
  const __m256 vq = _mm256_set1_ps(fq), vnq = _mm256_set1_ps(-fq);
  const __m256 ulp = _mm256_set1_ps(1.0f / 16777216.0f);
  for (size_t s = 0, b = 0; s < n; s += block, ++b) {
    size_t len = n - s < block ? n - s : block;
    float m = MaxAbs256(x + s, len);
    if (!(m >= FLT_MIN)) {
      StoreF32(scales + 4 * b, 0.0f);
      std::memset(q + s, 0, len);
      continue;
    }
    StoreF32(scales + 4 * b, m / fq);
    const float inv = fq / m;
    const __m256 vinv = _mm256_set1_ps(inv);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
      __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + s + i), vinv);
      v = _mm256_max_ps(_mm256_min_ps(v, vq), vnq);
      if (noise == nullptr) {
        Store8(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), q + s + i);
      } else {
        __m256i w = _mm256_srli_epi32(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(noise + s + i)), 8);
        __m256 u = _mm256_mul_ps(_mm256_cvtepi32_ps(w), ulp);
        __m256 r = _mm256_round_ps(_mm256_add_ps(v, u), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
        Store8(_mm256_min_ps(r, vq), q + s + i);
      }
    }
    for (; i < len; ++i) {
      q[s + i] = noise ? kernel_detail::StochasticOne(x[s + i], inv, fq, noise[s + i])
                       : QuantOne(x[s + i], inv, fq);
    }
  }
}

TERN_AVX2 void DequantInt8(const uint8_t* scales, const int8_t* q, size_t n, size_t block,
                           float* out, Mode mode) {
  for (size_t s = 0, b = 0; s < n; s += block, ++b) {
    size_t len = n - s < block ? n - s : block;
    const float scf = LoadF32(scales + 4 * b);
    const __m256 sc = _mm256_set1_ps(scf);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
      int64_t raw;
      std::memcpy(&raw, q + s + i, 8);
      __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(raw))), sc);
      float* o = out + s + i;
      if (mode == Mode::kAdd) v = _mm256_add_ps(_mm256_loadu_ps(o), v);
      if (mode == Mode::kSubtract) v = _mm256_sub_ps(_mm256_loadu_ps(o), v);
      _mm256_storeu_ps(o, v);
    }
    for (; i < len; ++i) Apply(out + s + i, static_cast<float>(q[s + i]) * scf, mode);
  }
}

// Lanes 0..7 in lo, 8..15 in hi; the fold of kernels.h.
TERN_AVX2 inline float FoldLanes(__m256 lo, __m256 hi) {
  __m256 a8 = _mm256_add_ps(lo, hi);
  __m128 a4 = _mm_add_ps(_mm256_castps256_ps128(a8), _mm256_extractf128_ps(a8, 1));
  __m128 a2 = _mm_add_ps(a4, _mm_movehl_ps(a4, a4));
  __m128 a1 = _mm_add_ss(a2, _mm_movehdup_ps(a2));
  return _mm_cvtss_f32(a1);
}

TERN_AVX2 void SignPack(const float* x, size_t n, size_t block, bool l2, uint8_t* scales,
                        uint8_t* bits) {
  const __m256 zero = _mm256_setzero_ps();
  for (size_t s = 0, b = 0; s < n; s += block, ++b) {
    size_t len = n - s < block ? n - s : block;
    double total = 0.0;
    for (size_t g = 0; g < len; g += 256) {
      size_t glen = len - g < 256 ? len - g : 256;
      __m256 lo = zero, hi = zero;
      for (size_t j = 0; j < glen; j += 16) {
        size_t i = s + g + j;
        size_t r = glen - j;
        __m256 v0, v1;
        if (r >= 16) {
          v0 = _mm256_loadu_ps(x + i);
          v1 = _mm256_loadu_ps(x + i + 8);
        } else {  // zero padding adds +0 to the lanes, as if untouched
          alignas(32) float pad[16] = {};
          std::memcpy(pad, x + i, r * sizeof(float));
          v0 = _mm256_load_ps(pad);
          v1 = _mm256_load_ps(pad + 8);
        }
        lo = _mm256_add_ps(lo, l2 ? _mm256_mul_ps(v0, v0) : AbsPs(v0));
        hi = _mm256_add_ps(hi, l2 ? _mm256_mul_ps(v1, v1) : AbsPs(v1));
        uint32_t m = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(v0, zero, _CMP_GE_OQ))) |
                     static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(v1, zero, _CMP_GE_OQ)))
                         << 8;
        if (r >= 16) {
          std::memcpy(bits + i / 8, &m, 2);
        } else {
          m &= (1u << r) - 1;
          bits[i / 8] = static_cast<uint8_t>(m);
          if (r > 8) bits[i / 8 + 1] = static_cast<uint8_t>(m >> 8);
        }
      }
      total += static_cast<double>(FoldLanes(lo, hi));
    }
    double mean = total / static_cast<double>(len);
    StoreStat(scales + 4 * b, static_cast<float>(l2 ? std::sqrt(mean) : mean));
  }
}

// For each 8-bit hit mask, the lanes to move to the front (as bytes): the
// AVX2 stand-in for VPCOMPRESSD, one VPERMD per vector.
struct CompressTable {
  uint64_t lanes[256];
  constexpr CompressTable() : lanes() {
    for (int m = 0; m < 256; ++m) {
      uint64_t t = 0;
      int k = 0;
      for (int j = 0; j < 8; ++j) {
        if (m & (1 << j)) t |= static_cast<uint64_t>(j) << (8 * k++);
      }
      lanes[m] = t;
    }
  }
};
constexpr CompressTable kCompress;

// One vector of the select pass (see kernels_avx512.cc): whole-vector stores
// at the write cursor, which advances by the hit count.
TERN_AVX2 inline size_t SelectVector(const float* x, __m256i vthr, __m256i idx, uint32_t* pos,
                                     float* val, size_t c) {
  const __m256 v = _mm256_loadu_ps(x);
  const __m256i a = _mm256_and_si256(_mm256_castps_si256(v), _mm256_set1_epi32(0x7FFFFFFF));
  const uint32_t hit = static_cast<uint32_t>(
      _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(a, vthr))));
  const __m256i perm =
      _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<long long>(kCompress.lanes[hit])));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(pos + c), _mm256_permutevar8x32_epi32(idx, perm));
  _mm256_storeu_ps(val + c, _mm256_permutevar8x32_ps(v, perm));
  return c + static_cast<size_t>(__builtin_popcount(hit));
}

TERN_AVX2 size_t SelectAbsGe(const float* x, size_t n, uint32_t thr, uint32_t base,
                             uint32_t* pos, float* val, size_t cap) {
  if (thr > 0x80000000u) return 0;  // above every magnitude
  // |x| bits <= 0x7FFFFFFF, so a signed compare against thr - 1 is exact
  // (thr = 0 wraps to -1: every value).
  const __m256i vthr = _mm256_set1_epi32(static_cast<int>(thr - 1));
  const __m256i eight = _mm256_set1_epi32(8);
  __m256i idx = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                 _mm256_set1_epi32(static_cast<int>(base)));
  size_t c = 0, i = 0;
  for (; i + 64 <= n; i += 64) {  // at most 64 hits past a count <= cap
    for (int j = 0; j < 8; ++j) {
      c = SelectVector(x + i + 8 * j, vthr, idx, pos, val, c);
      idx = _mm256_add_epi32(idx, eight);
    }
    if (c > cap) return cap + 1;
  }
  for (; i + 8 <= n; i += 8) {
    c = SelectVector(x + i, vthr, idx, pos, val, c);
    idx = _mm256_add_epi32(idx, eight);
  }
  if (c > cap) return cap + 1;
  const size_t rest = ScalarKernels().select_abs_ge(
      x + i, n - i, thr, base + static_cast<uint32_t>(i), pos + c, val + c, cap - c);
  return rest > cap - c ? cap + 1 : c + rest;
}

TERN_AVX2 void Fp4Codes(const float* x, size_t n, size_t block, bool e3m0,
                        const uint32_t* noise, uint8_t* scales, uint8_t* codes) {
  static constexpr float kE2M1Mid[7] = {0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f};
  static constexpr float kE3M0Mid[7] = {0.0078125f, 0.0234375f, 0.046875f, 0.09375f,
                                        0.1875f,    0.375f,     0.75f};
  const float* mid = e3m0 ? kE3M0Mid : kE2M1Mid;
  const float* grid = e3m0 ? kernel_detail::kE3M0Values : kernel_detail::kE2M1Values;
  const __m256 values = _mm256_loadu_ps(grid);
  const __m256 inv_gap =
      _mm256_loadu_ps(e3m0 ? kernel_detail::kE3M0InvGap : kernel_detail::kE2M1InvGap);
  const __m256 ulp = _mm256_set1_ps(1.0f / 16777216.0f);
  const __m256i one = _mm256_set1_epi32(1), seven = _mm256_set1_epi32(7);
  for (size_t s = 0, b = 0; s < n; s += block, ++b) {
    size_t len = n - s < block ? n - s : block;
    int e = Fp4Exponent(MaxAbs256(x + s, len), e3m0);
    scales[b] = static_cast<uint8_t>(e + 127);
    const float inv = Pow2(-e);
    const __m256 vinv = _mm256_set1_ps(inv);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
      __m256 v = _mm256_loadu_ps(x + s + i);
      __m256 a = _mm256_mul_ps(AbsPs(v), vinv);
      __m256i c = _mm256_setzero_si256();
      if (noise == nullptr) {
        for (int t = 0; t < 7; ++t) {
          __m256 cmp = (t % 2 == 0) ? _mm256_cmp_ps(a, _mm256_set1_ps(mid[t]), _CMP_GT_OQ)
                                    : _mm256_cmp_ps(a, _mm256_set1_ps(mid[t]), _CMP_GE_OQ);
          c = _mm256_add_epi32(c, _mm256_and_si256(_mm256_castps_si256(cmp), one));
        }
      } else {
        for (int t = 1; t < 8; ++t) {
          __m256 cmp = _mm256_cmp_ps(a, _mm256_set1_ps(grid[t]), _CMP_GE_OQ);
          c = _mm256_add_epi32(c, _mm256_and_si256(_mm256_castps_si256(cmp), one));
        }
        const __m256 p = _mm256_mul_ps(_mm256_sub_ps(a, _mm256_permutevar8x32_ps(values, c)),
                                       _mm256_permutevar8x32_ps(inv_gap, c));
        const __m256 u = _mm256_mul_ps(
            _mm256_cvtepi32_ps(_mm256_srli_epi32(
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(noise + s + i)), 8)),
            ulp);
        const __m256i up = _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(u, p, _CMP_LT_OQ)),
                                            _mm256_cmpgt_epi32(seven, c));
        c = _mm256_sub_epi32(c, up);  // up is -1 where the code goes up
      }
      __m256i sign = _mm256_srli_epi32(_mm256_castps_si256(v), 31);
      c = _mm256_or_si256(c, _mm256_slli_epi32(sign, 3));
      // 8 codes (< 16) to 8 bytes.
      __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(c), _mm256_extracti128_si256(c, 1));
      __m128i bytes = _mm_packus_epi16(w, w);
      _mm_storel_epi64(reinterpret_cast<__m128i*>(codes + s + i), bytes);
    }
    for (; i < len; ++i) {
      codes[s + i] = noise ? kernel_detail::Fp4StochasticOne(x[s + i], inv, e3m0, noise[s + i])
                           : Fp4One(x[s + i], inv, e3m0);
    }
  }
}

// tern::FloatToBF16 (see kernels_avx512.cc), 8 values at a time.
TERN_AVX2 void ToBf16(const float* x, size_t n, uint8_t* out) {
  const __m256i abs = _mm256_set1_epi32(0x7FFFFFFF), inf = _mm256_set1_epi32(0x7F800000);
  const __m256i bias = _mm256_set1_epi32(0x7FFF), one = _mm256_set1_epi32(1);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i u = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
    __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, abs), inf);
    __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), one);
    __m256i r = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, bias), lsb), 16);
    __m256i q = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
    r = _mm256_blendv_epi8(r, q, nan);
    __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 2 * i), packed);
  }
  ScalarKernels().to_bf16(x + i, n - i, out + 2 * i);
}

// 8 nibbles (4 bytes) at a time: two 8-entry VPERMPS and a blend on bit 3.
TERN_AVX2 void NibbleLut(const uint8_t* packed, size_t first, size_t n, const float* lut,
                         float* out) {
  size_t j = 0;
  if (first % 2 == 1 && n > 0) out[j++] = lut[packed[first / 2] >> 4];
  const __m256 lo_table = _mm256_loadu_ps(lut), hi_table = _mm256_loadu_ps(lut + 8);
  const uint8_t* p = packed + (first + j) / 2;
  for (; j + 8 <= n; j += 8, p += 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    __m128i bytes = _mm_cvtsi32_si128(static_cast<int>(w));
    __m128i lo = _mm_and_si128(bytes, _mm_set1_epi8(0x0F));
    __m128i hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), _mm_set1_epi8(0x0F));
    __m256i idx = _mm256_cvtepu8_epi32(_mm_unpacklo_epi8(lo, hi));
    __m256 a = _mm256_permutevar8x32_ps(lo_table, idx);
    __m256 b = _mm256_permutevar8x32_ps(hi_table, idx);
    __m256 upper = _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28));  // bit 3 to the sign bit
    _mm256_storeu_ps(out + j, _mm256_blendv_ps(a, b, upper));
  }
  ScalarKernels().nibble_lut(packed, first + j, n - j, lut, out + j);
}

TERN_AVX2 void Lut8Codes(const float* x, size_t n, float scale, bool zero, uint8_t* codes) {
  const __m256 vscale = _mm256_set1_ps(scale), bias = _mm256_set1_ps(128.0f);
  const __m256 top = _mm256_set1_ps(255.0f), zero_v = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    __m256 r = zero ? zero_v
                    : _mm256_add_ps(_mm256_round_ps(_mm256_div_ps(v, vscale),
                                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC),
                                    bias);
    r = _mm256_max_ps(_mm256_min_ps(r, top), zero_v);
    r = _mm256_blendv_ps(r, bias, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    const __m256i q = _mm256_cvtps_epi32(r);
    const __m128i w16 = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(codes + i), _mm_packus_epi16(w16, w16));
  }
  for (; i < n; ++i) codes[i] = kernel_detail::Lut8One(x[i], scale, zero);
}

TERN_AVX2 void NearestCentroid(const float* v, size_t n, const float* c, int nc, uint8_t* ids) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(v + i);
    __m256 bd = AbsPs(_mm256_sub_ps(x, _mm256_set1_ps(c[0])));
    __m256i best = _mm256_setzero_si256();
    for (int j = 1; j < nc; ++j) {
      const __m256 d = AbsPs(_mm256_sub_ps(x, _mm256_set1_ps(c[j])));
      const __m256 closer = _mm256_cmp_ps(d, bd, _CMP_LT_OQ);
      bd = _mm256_blendv_ps(bd, d, closer);
      best = _mm256_blendv_epi8(best, _mm256_set1_epi32(j), _mm256_castps_si256(closer));
    }
    const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(best), _mm256_extracti128_si256(best, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(ids + i), _mm_packus_epi16(w16, w16));
  }
  for (; i < n; ++i) ids[i] = kernel_detail::NearestOne(v[i], c, nc);
}

}  // namespace

const Kernels* Avx2Kernels() {
  const CpuFeatures& f = Cpu();
  if (!(f.avx2 && f.bmi2)) return nullptr;
  static const Kernels k = {
      .name = "avx2",
      .quant_blocks = QuantBlocks,
      .dequant_int8 = DequantInt8,
      .sign_pack = SignPack,
      .select_abs_ge = SelectAbsGe,
      .fp4_codes = Fp4Codes,
      .to_bf16 = ToBf16,
      .nibble_lut = NibbleLut,
      .fixed_sum = kernel_detail::FixedSumAvx2,
      .block_norms = kernel_detail::BlockNormsAvx2,
      .qsgd_codes = kernel_detail::QsgdCodesAvx2,
      .qsgd_values = kernel_detail::QsgdValuesScalar,
      .clipped_max = kernel_detail::ClippedMaxAvx2,
      .terngrad_trits = kernel_detail::TernGradTritsAvx2,
      .lut8_codes = Lut8Codes,
      .nearest_centroid = NearestCentroid,
      .rice_codes = kernel_detail::RiceCodesScalar,
      .philox = kernel_detail::PhiloxBlocksAvx2,
  };
  return &k;
}

namespace {
std::atomic<const Kernels*> forced_kernels{nullptr};
}  // namespace

const Kernels& BestKernels() {
  static const Kernels* best = [] {
    if (const Kernels* k = Avx512Kernels()) return k;
    if (const Kernels* k = Avx2Kernels()) return k;
    return &ScalarKernels();
  }();
  const Kernels* forced = forced_kernels.load(std::memory_order_relaxed);
  return forced ? *forced : *best;
}

void SetKernelsForTest(const Kernels* k) { forced_kernels.store(k, std::memory_order_relaxed); }

}  // namespace tern::codec
