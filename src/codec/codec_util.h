// Small helpers shared by the codec implementations: unaligned little-endian
// float I/O, how decoded values meet the output (DecodeMode), the keep-count
// of sparse codecs, and the RNG keys of DESIGN.md semantic 6.
#ifndef TERN_CODEC_CODEC_UTIL_H_
#define TERN_CODEC_CODEC_UTIL_H_

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "tern/codec.h"
#include "util/philox.h"

namespace tern::codec {

// Payload floats and integers are stored by memcpy: the layout is
// little-endian and so must the host be.
static_assert(std::endian::native == std::endian::little, "tern codecs assume a little-endian host");

using Mode = Codec::DecodeMode;

inline float LoadF32(const uint8_t* p) {
  float f;
  std::memcpy(&f, p, 4);
  return f;
}
inline void StoreF32(uint8_t* p, float f) { std::memcpy(p, &f, 4); }
inline uint32_t LoadU32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline void StoreU32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
// Stores a computed statistic (a scale, a mean), any NaN as the canonical
// quiet NaN 0x7FC00000: which NaN an operation on two NaNs returns depends on
// operand order, which neither compilers nor SIMD paths keep.
inline void StoreStat(uint8_t* p, float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  StoreU32(p, (bits & 0x7FFFFFFFu) > 0x7F800000u ? 0x7FC00000u : bits);
}
inline uint32_t FloatBits(float f) { return std::bit_cast<uint32_t>(f); }
inline uint32_t AbsBits(float f) { return std::bit_cast<uint32_t>(f) & 0x7FFFFFFFu; }

// out[i] = v, += v or -= v.
inline void Apply(float* out, float v, Mode mode) {
  if (mode == Mode::kStore) {
    *out = v;
  } else if (mode == Mode::kAdd) {
    *out += v;
  } else {
    *out -= v;
  }
}

// Decodes a dense payload tile by tile: produce(begin, len, tile) writes the
// decoded values of [begin, begin + len) (len <= kDecodeTile) to tile, in
// order, and may fail; the values then meet `out` as `mode` says, in loops
// the compiler vectorizes.
inline constexpr size_t kDecodeTile = 1024;
template <typename Produce>
Status DecodeTiled(std::span<float> out, Mode mode, Produce&& produce) {
  float tile[kDecodeTile];
  for (size_t s = 0; s < out.size(); s += kDecodeTile) {
    const size_t len = out.size() - s < kDecodeTile ? out.size() - s : kDecodeTile;
    float* o = out.data() + s;
    TERN_RETURN_IF_ERROR(produce(s, len, mode == Mode::kStore ? o : tile));
    if (mode == Mode::kAdd) {
      for (size_t i = 0; i < len; ++i) o[i] += tile[i];
    } else if (mode == Mode::kSubtract) {
      for (size_t i = 0; i < len; ++i) o[i] -= tile[i];
    }
  }
  return OkStatus();
}

// Zeroes the output of a sparse decode in kStore mode (the kept values are
// then applied on top).
inline void ClearForStore(std::span<float> out, Mode mode) {
  if (mode == Mode::kStore && !out.empty()) std::memset(out.data(), 0, out.size_bytes());
}

inline size_t CeilDiv(size_t a, size_t b) { return (a + b - 1) / b; }

// k for a density: round-half-even(density * n), at least 1 and at most n
// (0 for n = 0). Exact in double for n < 2^53.
inline size_t KeepCount(double density, size_t n) {
  if (n == 0) return 0;
  double k = std::nearbyint(density * static_cast<double>(n));
  if (k < 1) return 1;
  if (k >= static_cast<double>(n)) return n;
  return static_cast<size_t>(k);
}

// Per-element noise (stochastic rounding, QSGD, TernGrad) comes from
// NoiseWords::PeerNoise (codec/noise.h): word ctx.offset + i of the stream
// keyed by (seed, purpose, step, Mix64(tensor_id) ^ peer_id).

// The stream of choices every peer must share (random-k positions, sampled
// top-k): keyed by (seed, purpose, step, Mix64(tensor_id) ^ Mix64(offset)),
// never by peer.
inline RngStream SharedChoice(const CodecContext& ctx, RngPurpose purpose) {
  return RngStream(ctx.seed, purpose, ctx.step, Mix64(ctx.tensor_id) ^ Mix64(ctx.offset));
}

// 24-bit uniform in [0, 1) from one word (exact in fp32).
inline float U01(uint32_t w) { return static_cast<float>(w >> 8) * (1.0f / 16777216.0f); }

// H(p) in bits, with p capped at 1/2: the i.i.d. entropy of a keep mask of
// density p per value, the nominal cost of entropy-coded positions.
inline double MaskEntropy(double p) {
  p = p < 0.5 ? p : 0.5;
  return -p * std::log2(p) - (1 - p) * std::log2(1 - p);
}

// Double-precision sums in a fixed order (deterministic everywhere, and
// without a latency chain): value i goes to accumulator i % 4, and the
// result is (a0 + a1) + (a2 + a3).
template <typename Term>
double FixedSum(const float* x, size_t n, Term term) {
  double a[4] = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int j = 0; j < 4; ++j) a[j] += term(x[i + j]);
  }
  for (int j = 0; i < n; ++i, ++j) a[j] += term(x[i]);
  return (a[0] + a[1]) + (a[2] + a[3]);
}
inline double SumOf(const float* x, size_t n) {
  return FixedSum(x, n, [](float v) { return static_cast<double>(v); });
}
inline double SumOfSquares(const float* x, size_t n) {
  return FixedSum(x, n, [](float v) { return static_cast<double>(v) * v; });
}
// Sum of (x - mean)^2, in double.
inline double SumOfCenteredSquares(const float* x, size_t n, double mean) {
  return FixedSum(x, n, [mean](float v) { return (v - mean) * (v - mean); });
}

// The common argument checks of Codec::Encode / DecodeImpl.
inline Status CheckEncodeBuffer(size_t have, size_t need) {
  if (have < need) {
    return InvalidArgumentError("encode buffer of " + std::to_string(have) + " bytes, need " +
                                std::to_string(need));
  }
  return OkStatus();
}
inline Status CheckPayloadSize(size_t have, size_t want, const char* codec) {
  if (have != want) {
    return DataLossError(std::string(codec) + " payload of " + std::to_string(have) +
                         " bytes, expected " + std::to_string(want));
  }
  return OkStatus();
}

}  // namespace tern::codec

#endif  // TERN_CODEC_CODEC_UTIL_H_
