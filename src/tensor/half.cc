// fp16 / bf16 conversions. The scalar versions follow F. Giesen's
// round-to-nearest-even formulation; the F16C path is used in bulk when the
// CPU has it and matches the scalar one bit for bit, NaN payloads included.
#include <immintrin.h>

#include <cstring>

#include "tern/tensor.h"
#include "util/cpu.h"

namespace tern {
namespace {

inline uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float FromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace

uint16_t FloatToHalf(float f) {
  constexpr uint32_t kInf = 255u << 23;
  constexpr uint32_t kHalfMax = (127u + 16) << 23;               // 2^16
  constexpr uint32_t kDenormMagic = ((127u - 15) + (23 - 10) + 1) << 23;
  uint32_t u = Bits(f);
  uint32_t sign = u & 0x80000000u;
  u ^= sign;
  uint32_t o;
  if (u >= kHalfMax) {
    o = u > kInf ? (0x7E00u | ((u >> 13) & 0x3FFu)) : 0x7C00u;  // quiet NaN keeps payload
  } else if (u < (113u << 23)) {
    // Subnormal or zero: an fp32 add aligns the 10 mantissa bits at the
    // bottom and rounds to nearest even.
    o = Bits(FromBits(u) + FromBits(kDenormMagic)) - kDenormMagic;
  } else {
    uint32_t mant_odd = (u >> 13) & 1u;
    u += (static_cast<uint32_t>(15 - 127) << 23) + 0xFFFu;
    u += mant_odd;
    o = u >> 13;
  }
  return static_cast<uint16_t>(o | (sign >> 16));
}

float HalfToFloat(uint16_t h) {
  constexpr uint32_t kShiftedExp = 0x7C00u << 13;
  uint32_t o = (static_cast<uint32_t>(h) & 0x7FFFu) << 13;
  uint32_t exp = kShiftedExp & o;
  o += (127u - 15) << 23;
  if (exp == kShiftedExp) {
    o += (128u - 16) << 23;  // Inf / NaN
  } else if (exp == 0) {
    o += 1u << 23;  // zero / subnormal: renormalise
    o = Bits(FromBits(o) - FromBits(113u << 23));
  }
  return FromBits(o | ((static_cast<uint32_t>(h) & 0x8000u) << 16));
}

uint16_t FloatToBF16(float f) {
  uint32_t u = Bits(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

namespace {

#if defined(__x86_64__)
__attribute__((target("avx,f16c"))) void FloatToHalfF16c(const float* in, uint16_t* out,
                                                           size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
  for (; i < n; ++i) out[i] = FloatToHalf(in[i]);
}
__attribute__((target("avx,f16c"))) void HalfToFloatF16c(const uint16_t* in, float* out,
                                                           size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(h));
  }
  for (; i < n; ++i) out[i] = HalfToFloat(in[i]);
}
bool HaveF16c() {
  return Cpu().f16c;
}
#endif

}  // namespace

void FloatToHalf(const float* in, uint16_t* out, size_t n) {
#if defined(__x86_64__)
  if (HaveF16c()) return FloatToHalfF16c(in, out, n);
#endif
  for (size_t i = 0; i < n; ++i) out[i] = FloatToHalf(in[i]);
}

void HalfToFloat(const uint16_t* in, float* out, size_t n) {
#if defined(__x86_64__)
  if (HaveF16c()) return HalfToFloatF16c(in, out, n);
#endif
  for (size_t i = 0; i < n; ++i) out[i] = HalfToFloat(in[i]);
}

void FloatToBF16(const float* in, uint16_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = FloatToBF16(in[i]);
}

void BF16ToFloat(const uint16_t* in, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = BF16ToFloat(in[i]);
}

}  // namespace tern
