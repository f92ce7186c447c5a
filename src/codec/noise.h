// Many words of a Philox stream at once, bit-identical to RngStream (the
// stochastic codecs draw one word per element; codec/noise_test.cc checks
// the parity). The key derivation repeats RngStream's constructor
// (util/philox.cc); the AVX-512 path runs 16 Philox blocks per step.
#ifndef TERN_CODEC_NOISE_H_
#define TERN_CODEC_NOISE_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "tern/codec.h"
#include "util/philox.h"

namespace tern::codec {

class NoiseWords {
 public:
  NoiseWords(uint64_t seed, RngPurpose purpose, uint64_t a, uint64_t b);
  // The peer-noise stream of docs/codec_spec.md: (purpose, step,
  // Mix64(tensor_id) ^ peer_id); element i of the payload uses word
  // ctx.offset + i.
  static NoiseWords PeerNoise(const CodecContext& ctx, RngPurpose purpose) {
    return NoiseWords(ctx.seed, purpose, ctx.step, Mix64(ctx.tensor_id) ^ ctx.peer_id);
  }

  // Writes words [first, first + n) of the stream to out.
  void Fill(uint64_t first, size_t n, uint32_t* out) const;
  // The portable version (the reference for the test).
  void FillScalar(uint64_t first, size_t n, uint32_t* out) const;

 private:
  std::array<uint32_t, 2> key_;
  uint32_t a_lo_, b_lo_;
};

}  // namespace tern::codec

#endif  // TERN_CODEC_NOISE_H_
