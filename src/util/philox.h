// Counter-based randomness that every peer can reproduce (DESIGN.md semantic 6).
//
// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
// 3", SC'11) maps a 128-bit counter and a 64-bit key to 128 random bits with
// integer operations only, so every host computes the same bits. A RngStream
// names one sequence by (run seed, purpose, a, b); for example
//   random-k indices:   RngStream(seed, RngPurpose::kRandomK, step, tensor_id)
//   ZO perturbations:   RngStream(seed, RngPurpose::kZoPerturbation, step, peer_id)
// and yields its words by position, so any slice can be generated without
// the ones before it (Seek).
//
// Values derived from it use integer arithmetic or exactly rounded float
// operations only: UniformFloat (24-bit mantissa, exact), Rademacher signs,
// and Normal (Irwin-Hall sum of 16 uniforms in integers, one exactly rounded
// conversion; no libm). Thread-compatible: one stream per thread.
#ifndef TERN_UTIL_PHILOX_H_
#define TERN_UTIL_PHILOX_H_

#include <array>
#include <cstdint>

namespace tern {

// Why a stream exists. Distinct purposes never share bits, so adding a use of
// randomness never changes an existing one. Values are part of the protocol:
// never renumber.
enum class RngPurpose : uint32_t {
  kTest = 0,
  kRandomK = 1,
  kStochasticRounding = 2,
  kQsgd = 3,
  kTernGrad = 4,
  kSampledTopK = 5,
  kPowerSgdInit = 6,
  kZoPerturbation = 7,
  kNoLoCoPairing = 8,
  kDataShuffle = 9,
  kModelInit = 10,
  kChaos = 11,
  kDirichlet = 12,
};

// One Philox4x32-10 block: 4 words from (counter, key).
std::array<uint32_t, 4> Philox4x32(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key);

// SplitMix64 finaliser: a bijective 64-bit mixer, used to derive keys.
constexpr uint64_t Mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

class RngStream {
 public:
  RngStream(uint64_t seed, RngPurpose purpose, uint64_t a = 0, uint64_t b = 0);

  // The next 32 random bits.
  uint32_t NextU32() {
    if (pos_ == 4) Refill();
    return buf_[pos_++];
  }
  uint64_t NextU64() {
    uint64_t lo = NextU32();
    return lo | (static_cast<uint64_t>(NextU32()) << 32);
  }
  // Jumps to word `index` of this stream (word i is the same whatever was
  // drawn before).
  void Seek(uint64_t word_index);

  // Uniform in [0, 1) with 24 random bits: exact in fp32.
  float UniformFloat() { return static_cast<float>(NextU32() >> 8) * (1.0f / 16777216.0f); }
  // Uniform in [0, 1) with 53 random bits: exact in fp64.
  double UniformDouble() {
    return static_cast<double>(NextU64() >> 11) * (1.0 / 9007199254740992.0);
  }
  // Uniform integer in [0, n), n > 0, unbiased (Lemire's method with
  // rejection; deterministic because the stream is).
  uint64_t UniformInt(uint64_t n);
  // +1 or -1 with probability 1/2 each.
  float Rademacher() { return (NextU32() & 1u) ? 1.0f : -1.0f; }
  // Approximately standard normal: (sum of 16 uniform 16-bit integers - mean)
  // / sd. Mean 0, variance 1, support +-6.93. Exact integer arithmetic plus
  // one correctly rounded multiply, so identical on every IEEE-754 host.
  float Normal();

 private:
  void Refill();

  std::array<uint32_t, 2> key_;
  uint32_t a_lo_, b_lo_;
  uint64_t block_ = 0;
  std::array<uint32_t, 4> buf_{};
  int pos_ = 4;
};

}  // namespace tern

#endif  // TERN_UTIL_PHILOX_H_
