// QSGD(s) (reference/codecs.md 3.2): per block, norm = ||x||_2 and each value
// becomes sign * level * norm / s with level = floor(s |x| / norm + u), u
// uniform: unbiased. Payload: fp32 norm per block, then one code per value,
// code = s + sign * level in [0, 2s], in ceil(log2(2s + 1)) bits (bit-packed,
// LSB first).
#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <vector>

#include "codec/kernels.h"
#include "codec/codec_util.h"
#include "codec/noise.h"
#include "codec/stages.h"

namespace tern::codec {
namespace {

class QsgdCodec final : public Codec {
 public:
  QsgdCodec(std::string spec, int levels, size_t block)
      : Codec(std::move(spec), Traits(levels, block)),
        s_(levels),
        width_(Width(levels)),
        block_(block) {}

  size_t MaxEncodedSize(size_t n) const override {
    return 4 * CeilDiv(n, block_) + CeilDiv(n * static_cast<size_t>(width_), 8);
  }

  Result<size_t> Encode(std::span<const float> in, const CodecContext& ctx,
                        std::span<uint8_t> out) const override {
    const size_t n = in.size(), need = MaxEncodedSize(n);
    TERN_RETURN_IF_ERROR(CheckEncodeBuffer(out.size(), need));
    const Kernels& k = BestKernels();
    uint8_t* norms = out.data();
    uint8_t* codes = out.data() + 4 * CeilDiv(n, block_);
    const NoiseWords noise = NoiseWords::PeerNoise(ctx, RngPurpose::kQsgd);
    thread_local std::vector<uint32_t> words;
    thread_local std::vector<float> block_norms;
    words.resize(std::min(n, kNoiseTile));
    // Chunks of whole blocks, a multiple of 8 values (so each starts at a
    // byte of the code stream) and about 64 KiB: norms, then codes, while
    // the chunk is in cache.
    const size_t chunk = block_ * std::max<size_t>(8, (16384 / block_) / 8 * 8);
    for (size_t c = 0; c < n; c += chunk) {
      const size_t len = std::min(chunk, n - c), b0 = c / block_;
      block_norms.resize(CeilDiv(len, block_));
      k.block_norms(in.data() + c, len, block_, block_norms.data());
      for (size_t b = 0; b < block_norms.size(); ++b) {
        const float norm = block_norms[b];
        const bool zero = !(norm >= FLT_MIN) || std::isinf(norm);
        StoreF32(norms + 4 * (b0 + b), zero ? 0.0f : norm);
      }
      for (size_t t = c; t < c + len; t += kNoiseTile) {
        const size_t tl = std::min(kNoiseTile, c + len - t);
        noise.Fill(ctx.offset + t, tl, words.data());
        k.qsgd_codes(in.data() + t, tl, t, block_, norms, s_, width_, words.data(),
                     codes + t * static_cast<size_t>(width_) / 8);
      }
    }
    return need;
  }

  Status DecodeImpl(std::span<const uint8_t> payload, const CodecContext&, std::span<float> out,
                    DecodeMode mode) const override {
    const size_t n = out.size();
    TERN_RETURN_IF_ERROR(CheckPayloadSize(payload.size(), MaxEncodedSize(n), "qsgd"));
    const uint8_t* norms = payload.data();
    const uint8_t* codes = payload.data() + 4 * CeilDiv(n, block_);
    const Kernels& k = BestKernels();
    // Tiles start at multiples of kDecodeTile values, so at whole bytes.
    return DecodeTiled(out, mode, [&](size_t begin, size_t len, float* dst) -> Status {
      if (!k.qsgd_values(codes + begin * static_cast<size_t>(width_) / 8, len, begin, block_,
                         norms, s_, width_, dst)) {
        return InvalidArgumentError("qsgd: bad code");
      }
      return OkStatus();
    });
  }

 private:
  static int Width(int levels) { return std::bit_width(static_cast<unsigned>(2 * levels)); }
  static CodecTraits Traits(int levels, size_t block) {
    CodecTraits t;
    t.unbiased = true;
    t.uses_peer_noise = true;
    t.bits_per_element = Width(levels) + 32.0 / static_cast<double>(block);
    return t;
  }

  int s_;
  int width_;
  size_t block_;
};

}  // namespace

Result<std::unique_ptr<Codec>> MakeQsgd(const StageArgs& args) {
  TERN_ASSIGN_OR_RETURN(int64_t levels, args.params.Integer("levels", 1, 32767));
  TERN_ASSIGN_OR_RETURN(int64_t block, args.params.Integer("block", 1, int64_t{1} << 24));
  return std::unique_ptr<Codec>(
      new QsgdCodec(args.spec, static_cast<int>(levels), static_cast<size_t>(block)));
}

}  // namespace tern::codec
