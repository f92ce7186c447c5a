// The QSGD kernels of the tables (kernels.h): per-block norms, codes and
// their inverse. The SIMD versions give the scalar bits (kernels_test.cc);
// they pack codes of up to 8 bits with PEXT/PDEP (AVX-512 table) or 64-bit
// shifts (AVX2), wider codes through the scalar loops.
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "codec/kernels.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define TERN_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,bmi2")))
#define TERN_AVX2 __attribute__((target("avx2,bmi2")))

namespace tern::codec::kernel_detail {
namespace {

// 1/step of block b: s / norm, or 0 for a zero block (norm stored as 0).
inline float InvOf(const uint8_t* norms, size_t b, float fs) {
  const float norm = LoadF32(norms + 4 * b);
  return norm != 0.0f ? fs / norm : 0.0f;
}

inline uint32_t CodeOne(float x, float inv, float fs, int s, uint32_t noise) {
  float level = std::floor(std::fabs(x) * inv + U01(noise));
  level = level < fs ? level : fs;  // NaN -> s, as MINPS(level, s)
  const int l = static_cast<int>(level);
  return static_cast<uint32_t>(std::signbit(x) ? s - l : s + l);
}

// Appends codes to a byte stream LSB-first; Finish writes the partial byte.
class BitSink {
 public:
  explicit BitSink(uint8_t* out) : out_(out) {}
  void Put(uint32_t code, int width) {
    acc_ |= static_cast<uint64_t>(code) << fill_;
    fill_ += width;
    while (fill_ >= 8) {
      *out_++ = static_cast<uint8_t>(acc_);
      acc_ >>= 8;
      fill_ -= 8;
    }
  }
  void Finish() {
    if (fill_ > 0) *out_ = static_cast<uint8_t>(acc_);
  }

 private:
  uint8_t* out_;
  uint64_t acc_ = 0;
  int fill_ = 0;
};

class BitSource {
 public:
  explicit BitSource(const uint8_t* in) : in_(in) {}
  uint32_t Get(int width) {
    while (fill_ < width) {
      acc_ |= static_cast<uint64_t>(*in_++) << fill_;
      fill_ += 8;
    }
    const uint32_t v = static_cast<uint32_t>(acc_ & ((uint64_t{1} << width) - 1));
    acc_ >>= width;
    fill_ -= width;
    return v;
  }

 private:
  const uint8_t* in_;
  uint64_t acc_ = 0;
  int fill_ = 0;
};

// 8 codes of `width` <= 8 bits from the bytes at p (width bytes; reads
// exactly those when near the end).
inline uint64_t Load8Codes(const uint8_t* p, int width, bool near_end) {
  uint64_t v = 0;
  std::memcpy(&v, p, near_end ? static_cast<size_t>(width) : 8);
  return v;
}

// The bytes of 8 packed codes: `width` bytes.
inline void Store8Codes(uint8_t* p, uint64_t v, int width) { std::memcpy(p, &v, width); }

// One 0x..FF-style mask per byte: the low `width` bits of each of 8 bytes.
inline uint64_t ByteFieldMask(int width) {
  return 0x0101010101010101ull * ((1u << width) - 1);
}

// The scalar tail of the SIMD versions: values [i, n) of a call, starting
// at a byte boundary of out.
void CodesTail(const float* x, size_t i, size_t n, size_t first, size_t block,
               const uint8_t* norms, int s, int width, const uint32_t* noise, uint8_t* out) {
  const float fs = static_cast<float>(s);
  BitSink sink(out);
  for (; i < n; ++i) {
    sink.Put(CodeOne(x[i], InvOf(norms, (first + i) / block, fs), fs, s, noise[i]), width);
  }
  sink.Finish();
}

bool ValuesTail(const uint8_t* bits, size_t i, size_t n, size_t first, size_t block,
                const uint8_t* norms, int s, int width, float* out) {
  const float fs = static_cast<float>(s);
  BitSource src(bits);
  bool ok = true;
  for (; i < n; ++i) {
    const uint32_t code = src.Get(width);
    ok &= code <= static_cast<uint32_t>(2 * s);
    const float step = LoadF32(norms + 4 * ((first + i) / block)) / fs;
    out[i] = static_cast<float>(static_cast<int>(code) - s) * step;
  }
  return ok;
}

// ---- AVX-512 ----

// Per-lane 1/step (or step) of values first + i .. first + i + 15.
template <typename Of>
TERN_AVX512 inline __m512 PerLane(size_t first, size_t i, size_t block, Of of) {
  const size_t b0 = (first + i) / block, b15 = (first + i + 15) / block;
  if (b0 == b15) return _mm512_set1_ps(of(b0));
  alignas(64) float lanes[16];
  for (int j = 0; j < 16; ++j) lanes[j] = of((first + i + j) / block);
  return _mm512_load_ps(lanes);
}

TERN_AVX512 inline __m512i Codes16(const float* x, const uint32_t* noise, __m512 inv, __m512 fs,
                                   __m512i vs) {
  const __m512 v = _mm512_loadu_ps(x);
  const __m512 a = _mm512_mul_ps(
      _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7FFFFFFF))),
      inv);
  const __m512i w = _mm512_srli_epi32(_mm512_loadu_si512(noise), 8);
  const __m512 u = _mm512_mul_ps(_mm512_cvtepi32_ps(w), _mm512_set1_ps(1.0f / 16777216.0f));
  __m512 level = _mm512_roundscale_ps(_mm512_add_ps(a, u), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  level = _mm512_min_ps(level, fs);  // NaN -> s
  const __m512i l = _mm512_cvttps_epi32(level);
  const __mmask16 neg = _mm512_movepi32_mask(_mm512_castps_si512(v));
  return _mm512_mask_sub_epi32(_mm512_add_epi32(vs, l), neg, vs, l);
}

}  // namespace

TERN_AVX512 void QsgdCodesAvx512(const float* x, size_t n, size_t first, size_t block,
                                 const uint8_t* norms, int s, int width, const uint32_t* noise,
                                 uint8_t* out) {
  const float fss = static_cast<float>(s);
  const __m512 fs = _mm512_set1_ps(fss);
  const __m512i vs = _mm512_set1_epi32(s);
  const uint64_t mask = width <= 8 ? ByteFieldMask(width) : 0;
  const size_t bytes = (n * static_cast<size_t>(width) + 7) / 8;
  size_t i = 0;
  uint8_t* o = out;
  for (; width <= 8 && i + 16 <= n; i += 16, o += 2 * width) {
    const __m512 inv = PerLane(first, i, block, [&](size_t b) { return InvOf(norms, b, fss); });
    const __m128i c8 = _mm512_cvtepi32_epi8(Codes16(x + i, noise + i, inv, fs, vs));
    const uint64_t lo = _pext_u64(static_cast<uint64_t>(_mm_cvtsi128_si64(c8)), mask);
    const uint64_t hi = _pext_u64(static_cast<uint64_t>(_mm_extract_epi64(c8, 1)), mask);
    const bool room = static_cast<size_t>(o - out) + static_cast<size_t>(width) + 8 <= bytes;
    if (room) {  // two 8-byte stores, the second overwriting the first's spare bytes
      std::memcpy(o, &lo, 8);
      std::memcpy(o + width, &hi, 8);
    } else {
      Store8Codes(o, lo, width);
      Store8Codes(o + width, hi, width);
    }
  }
  CodesTail(x, i, n, first, block, norms, s, width, noise, o);
}

TERN_AVX512 bool QsgdValuesAvx512(const uint8_t* bits, size_t n, size_t first, size_t block,
                                  const uint8_t* norms, int s, int width, float* out) {
  const float fss = static_cast<float>(s);
  const __m512i vs = _mm512_set1_epi32(s), top = _mm512_set1_epi32(2 * s);
  const uint64_t mask = width <= 8 ? ByteFieldMask(width) : 0;
  const size_t bytes = (n * static_cast<size_t>(width) + 7) / 8;
  __mmask16 bad = 0;
  size_t i = 0;
  const uint8_t* p = bits;
  for (; width <= 8 && i + 16 <= n; i += 16, p += 2 * width) {
    const bool near_end = static_cast<size_t>(p - bits) + static_cast<size_t>(width) + 8 > bytes;
    const uint64_t lo = _pdep_u64(Load8Codes(p, width, near_end), mask);
    const uint64_t hi = _pdep_u64(Load8Codes(p + width, width, near_end), mask);
    const __m512i code = _mm512_cvtepu8_epi32(_mm_set_epi64x(static_cast<long long>(hi),
                                                             static_cast<long long>(lo)));
    bad |= _mm512_cmpgt_epi32_mask(code, top);
    const __m512 step = PerLane(first, i, block, [&](size_t b) {
      return LoadF32(norms + 4 * b) / fss;
    });
    _mm512_storeu_ps(out + i, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(code, vs)), step));
  }
  return ValuesTail(p, i, n, first, block, norms, s, width, out) && bad == 0;
}

void QsgdCodesScalar(const float* x, size_t n, size_t first, size_t block, const uint8_t* norms,
                     int s, int width, const uint32_t* noise, uint8_t* out) {
  CodesTail(x, 0, n, first, block, norms, s, width, noise, out);
}

bool QsgdValuesScalar(const uint8_t* bits, size_t n, size_t first, size_t block,
                      const uint8_t* norms, int s, int width, float* out) {
  return ValuesTail(bits, 0, n, first, block, norms, s, width, out);
}

// AVX2: eight codes per step, packed with 64-bit shifts.
TERN_AVX2 void QsgdCodesAvx2(const float* x, size_t n, size_t first, size_t block,
                             const uint8_t* norms, int s, int width, const uint32_t* noise,
                             uint8_t* out) {
  const float fss = static_cast<float>(s);
  const __m256 fs = _mm256_set1_ps(fss);
  const __m256i vs = _mm256_set1_epi32(s);
  const __m256i shift_lo = _mm256_setr_epi64x(0, width, 2 * width, 3 * width);
  const __m256i shift_hi = _mm256_add_epi64(shift_lo, _mm256_set1_epi64x(4 * width));
  size_t i = 0;
  uint8_t* o = out;
  for (; width <= 8 && i + 8 <= n; i += 8, o += width) {
    float inv_s;
    __m256 inv;
    const size_t b0 = (first + i) / block;
    if (b0 == (first + i + 7) / block) {
      inv_s = InvOf(norms, b0, fss);
      inv = _mm256_set1_ps(inv_s);
    } else {
      alignas(32) float lanes[8];
      for (int j = 0; j < 8; ++j) lanes[j] = InvOf(norms, (first + i + j) / block, fss);
      inv = _mm256_load_ps(lanes);
    }
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 a =
        _mm256_mul_ps(_mm256_and_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF))), inv);
    const __m256i w = _mm256_srli_epi32(
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(noise + i)), 8);
    const __m256 u = _mm256_mul_ps(_mm256_cvtepi32_ps(w), _mm256_set1_ps(1.0f / 16777216.0f));
    __m256 level = _mm256_round_ps(_mm256_add_ps(a, u), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    level = _mm256_min_ps(level, fs);
    const __m256i l = _mm256_cvttps_epi32(level);
    const __m256i neg = _mm256_srai_epi32(_mm256_castps_si256(v), 31);  // -1 where the sign is set
    // s + l, or s - l: (l ^ neg) - neg negates l where neg.
    const __m256i code = _mm256_add_epi32(vs, _mm256_sub_epi32(_mm256_xor_si256(l, neg), neg));
    const __m256i q0 = _mm256_sllv_epi64(_mm256_cvtepu32_epi64(_mm256_castsi256_si128(code)), shift_lo);
    const __m256i q1 =
        _mm256_sllv_epi64(_mm256_cvtepu32_epi64(_mm256_extracti128_si256(code, 1)), shift_hi);
    const __m256i q = _mm256_or_si256(q0, q1);
    const __m128i h = _mm_or_si128(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    const uint64_t packed =
        static_cast<uint64_t>(_mm_cvtsi128_si64(h)) | static_cast<uint64_t>(_mm_extract_epi64(h, 1));
    Store8Codes(o, packed, width);
  }
  CodesTail(x, i, n, first, block, norms, s, width, noise, o);
}

}  // namespace tern::codec::kernel_detail
