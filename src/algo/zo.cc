#include "algo/zo.h"

#include <algorithm>
#include <cmath>

#include "util/philox.h"

namespace tern::algo {
namespace {

// 2^(r/6), r = 0..5, as the nearest floats (compile-time constants).
constexpr float kSixthRoots[6] = {1.0f,
                                  1.122462048309373f,
                                  1.2599210498948732f,
                                  1.4142135623730951f,
                                  1.5874010519681994f,
                                  1.7817974362806785f};
constexpr int kBias = 64;

// 2^((c - 64) / 6) for c in 1..127, exactly: table entry times a power of two.
float Magnitude(int code) {
  const int k = code - kBias;            // -63 .. 63
  const int e = (k >= 0) ? k / 6 : -((-k + 5) / 6);  // floor(k / 6)
  return std::ldexp(kSixthRoots[k - 6 * e], e);
}

}  // namespace

uint8_t EncodeZoByte(float value, float scale) {
  const double a = std::fabs(static_cast<double>(value) / static_cast<double>(scale));
  if (!std::isfinite(value) || !(a >= 0.5 * Magnitude(1))) return 0;
  const long code = std::clamp<long>(std::lround(6.0 * std::log2(a)) + kBias, 1, 127);
  return static_cast<uint8_t>(code | (value < 0 ? 0x80 : 0));
}

float DecodeZoByte(uint8_t byte, float scale) {
  const int code = byte & 0x7F;
  if (code == 0) return 0.0f;
  const float m = Magnitude(code) * scale;
  return (byte & 0x80) ? -m : m;
}

void AddPerturbation(uint64_t seed, uint64_t step, uint64_t peer_id, ZoDistribution dist,
                     float coef, std::span<float> out) {
  RngStream rng(seed, RngPurpose::kZoPerturbation, step, peer_id);
  const size_t n = out.size();
  if (dist == ZoDistribution::kNormal) {
    for (size_t k = 0; k < n; ++k) out[k] = out[k] + coef * rng.Normal();
    return;
  }
  const float neg = -coef;
  for (size_t base = 0; base < n; base += 32) {
    const uint32_t word = rng.NextU32();
    const size_t len = std::min<size_t>(32, n - base);
    for (size_t b = 0; b < len; ++b) {
      out[base + b] = out[base + b] + (((word >> b) & 1u) ? coef : neg);
    }
  }
}

void Perturbation(uint64_t seed, uint64_t step, uint64_t peer_id, ZoDistribution dist,
                  std::span<float> out) {
  std::fill(out.begin(), out.end(), 0.0f);
  AddPerturbation(seed, step, peer_id, dist, 1.0f, out);
}

}  // namespace tern::algo
