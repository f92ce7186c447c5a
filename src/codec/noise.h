// Many words of a Philox stream at once, bit-identical to RngStream (the
// stochastic codecs draw one word per element; codec/noise_test.cc checks
// the parity). The key derivation repeats RngStream's constructor
// (util/philox.cc); whole blocks come from the kernel table's philox entry
// (16 or 8 blocks per vector).
#ifndef TERN_CODEC_NOISE_H_
#define TERN_CODEC_NOISE_H_

#include <cstddef>
#include <cstdint>

#include "codec/kernels.h"
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
  void Fill(uint64_t first, size_t n, uint32_t* out) const { FillWith(BestKernels(), first, n, out); }
  // The portable version (the reference for the test).
  void FillScalar(uint64_t first, size_t n, uint32_t* out) const {
    FillWith(ScalarKernels(), first, n, out);
  }

 private:
  void FillWith(const Kernels& k, uint64_t first, size_t n, uint32_t* out) const;

  PhiloxKey key_;
};

// Element-wise noise is drawn a tile at a time, small enough to stay in L1.
inline constexpr size_t kNoiseTile = 4096;

}  // namespace tern::codec

#endif  // TERN_CODEC_NOISE_H_
