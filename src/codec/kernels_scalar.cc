// The portable reference kernels (kernels.h). The SIMD tables must match
// these bit for bit, so the loops spell out the canonical order.
#include <cfloat>
#include <cmath>
#include <cstring>

#include "codec/kernels.h"
#include "tern/tensor.h"

namespace tern::codec {
namespace kernel_detail {

float Pow2(int x) { return std::bit_cast<float>(x > -127 ? static_cast<uint32_t>(x + 127) << 23
                                                          : uint32_t{1} << 22); }

int Fp4Exponent(float m, bool e3m0) {
  if (!(m >= FLT_MIN)) return -127;  // zero, subnormal (or NaN-only) block
  uint32_t b = FloatBits(m);
  int e = static_cast<int>((b >> 23) & 0xFF) - 127;
  uint32_t mant = b & 0x7FFFFF;
  int x = e3m0 ? (mant == 0 ? e : e + 1) : (mant <= 0x400000 ? e - 2 : e - 1);
  if (x > 127) x = 127;
  if (x < -127) x = -127;
  return x;
}

}  // namespace kernel_detail

namespace {

using kernel_detail::Fp4Exponent;
using kernel_detail::Fp4One;
using kernel_detail::MaxAbs;
using kernel_detail::Pow2;
using kernel_detail::QuantOne;
using kernel_detail::StochasticOne;

void QuantBlocks(const float* x, size_t n, size_t block, int qmax, const uint32_t* noise,
                 uint8_t* scales, int8_t* q) {
  const float fq = static_cast<float>(qmax);
  for (size_t s = 0, b = 0; s < n; s += block, ++b) {
    size_t len = n - s < block ? n - s : block;
    float m = MaxAbs(x + s, len);
    if (!(m >= FLT_MIN)) {
      StoreF32(scales + 4 * b, 0.0f);
      std::memset(q + s, 0, len);
      continue;
    }
    StoreF32(scales + 4 * b, m / fq);
    const float inv = fq / m;
    for (size_t i = s; i < s + len; ++i) {
      q[i] = noise ? StochasticOne(x[i], inv, fq, noise[i]) : QuantOne(x[i], inv, fq);
    }
  }
}

void DequantInt8(const uint8_t* scales, const int8_t* q, size_t n, size_t block, float* out,
                 Mode mode) {
  for (size_t s = 0, b = 0; s < n; s += block, ++b) {
    size_t len = n - s < block ? n - s : block;
    const float sc = LoadF32(scales + 4 * b);
    for (size_t i = s; i < s + len; ++i) Apply(out + i, static_cast<float>(q[i]) * sc, mode);
  }
}

void SignPack(const float* x, size_t n, size_t block, bool l2, uint8_t* scales, uint8_t* bits) {
  std::memset(bits, 0, CeilDiv(n, 8));
  for (size_t i = 0; i < n; ++i) {
    if (x[i] >= 0.0f) bits[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
  }
  for (size_t s = 0, b = 0; s < n; s += block, ++b) {
    size_t len = n - s < block ? n - s : block;
    double total = 0.0;
    for (size_t g = 0; g < len; g += 256) {
      float lane[16] = {};
      size_t glen = len - g < 256 ? len - g : 256;
      for (size_t j = 0; j < glen; ++j) {
        float v = x[s + g + j];
        lane[j % 16] += l2 ? v * v : std::fabs(v);
      }
      for (int w = 8; w >= 1; w /= 2) {
        for (int j = 0; j < w; ++j) lane[j] += lane[j + w];
      }
      total += static_cast<double>(lane[0]);
    }
    double mean = total / static_cast<double>(len);
    StoreStat(scales + 4 * b, static_cast<float>(l2 ? std::sqrt(mean) : mean));
  }
}

size_t SelectAbsGe(const float* x, size_t n, uint32_t thr, uint32_t base, uint32_t* pos,
                   float* val, size_t cap) {
  size_t c = 0;
  for (size_t i = 0; i < n; ++i) {
    if (AbsBits(x[i]) >= thr) {
      if (c == cap) return cap + 1;
      pos[c] = base + static_cast<uint32_t>(i);
      val[c] = x[i];
      ++c;
    }
  }
  return c;
}

void Fp4Codes(const float* x, size_t n, size_t block, bool e3m0, const uint32_t* noise,
              uint8_t* scales, uint8_t* codes) {
  for (size_t s = 0, b = 0; s < n; s += block, ++b) {
    size_t len = n - s < block ? n - s : block;
    int e = Fp4Exponent(MaxAbs(x + s, len), e3m0);
    scales[b] = static_cast<uint8_t>(e + 127);
    const float inv = Pow2(-e);
    for (size_t i = s; i < s + len; ++i) {
      codes[i] = noise ? kernel_detail::Fp4StochasticOne(x[i], inv, e3m0, noise[i])
                       : Fp4One(x[i], inv, e3m0);
    }
  }
}

void ToBf16(const float* x, size_t n, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) {
    const uint16_t b = FloatToBF16(x[i]);
    std::memcpy(out + 2 * i, &b, 2);
  }
}

void NibbleLut(const uint8_t* packed, size_t first, size_t n, const float* lut, float* out) {
  for (size_t j = 0; j < n; ++j) {
    const size_t i = first + j;
    out[j] = lut[(packed[i / 2] >> (4 * (i % 2))) & 0xF];
  }
}

void Lut8Codes(const float* x, size_t n, float scale, bool zero, uint8_t* codes) {
  for (size_t i = 0; i < n; ++i) codes[i] = kernel_detail::Lut8One(x[i], scale, zero);
}

void NearestCentroid(const float* v, size_t n, const float* c, int nc, uint8_t* ids) {
  for (size_t i = 0; i < n; ++i) ids[i] = kernel_detail::NearestOne(v[i], c, nc);
}

}  // namespace

const Kernels& ScalarKernels() {
  static const Kernels k = {
      .name = "scalar",
      .quant_blocks = QuantBlocks,
      .dequant_int8 = DequantInt8,
      .sign_pack = SignPack,
      .select_abs_ge = SelectAbsGe,
      .fp4_codes = Fp4Codes,
      .to_bf16 = ToBf16,
      .nibble_lut = NibbleLut,
      .fixed_sum = kernel_detail::FixedSumScalar,
      .block_norms = kernel_detail::BlockNormsScalar,
      .qsgd_codes = kernel_detail::QsgdCodesScalar,
      .qsgd_values = kernel_detail::QsgdValuesScalar,
      .clipped_max = kernel_detail::ClippedMaxScalar,
      .terngrad_trits = kernel_detail::TernGradTritsScalar,
      .lut8_codes = Lut8Codes,
      .nearest_centroid = NearestCentroid,
      .rice_codes = kernel_detail::RiceCodesScalar,
      .philox = kernel_detail::PhiloxBlocksScalar,
  };
  return k;
}

}  // namespace tern::codec
