// fp4: 4-bit floats with a power-of-two scale per block (docs/codec_spec.md,
// "fp4"). Payload: one E8M0 byte (X + 127) per block, then the 4-bit codes
// packed two per byte (value 2j in the low nibble of byte j). A code is
// sign (bit 3) and a 3-bit magnitude index into E2M1 or E3M0 values.
#include <algorithm>
#include <vector>

#include "codec/codec_util.h"
#include "codec/kernels.h"
#include "codec/noise.h"
#include "codec/stages.h"

namespace tern::codec {
namespace {

using kernel_detail::Pow2;

class Fp4Codec final : public Codec {
 public:
  Fp4Codec(std::string spec, bool e3m0, size_t block, bool stochastic)
      : Codec(std::move(spec), Traits(block, stochastic)),
        e3m0_(e3m0),
        block_(block),
        stochastic_(stochastic),
        values_(e3m0 ? kernel_detail::kE3M0Values : kernel_detail::kE2M1Values) {}

  size_t MaxEncodedSize(size_t n) const override { return CeilDiv(n, block_) + CeilDiv(n, 2); }

  Result<size_t> Encode(std::span<const float> in, const CodecContext& ctx,
                        std::span<uint8_t> out) const override {
    const size_t n = in.size(), need = MaxEncodedSize(n);
    TERN_RETURN_IF_ERROR(CheckEncodeBuffer(out.size(), need));
    uint8_t* scales = out.data();
    uint8_t* packed = out.data() + CeilDiv(n, block_);
    // Tiles of whole blocks and an even count of values (whole code bytes),
    // about one noise tile long.
    const size_t tile = block_ * 2 * std::max<size_t>(1, kNoiseTile / (2 * block_));
    thread_local std::vector<uint8_t> tmp;
    thread_local std::vector<uint32_t> words;
    tmp.resize(std::min(tile, n));
    if (stochastic_) words.resize(std::min(tile, n));
    const NoiseWords noise = NoiseWords::PeerNoise(ctx, RngPurpose::kStochasticRounding);
    for (size_t s = 0; s < n; s += tile) {
      const size_t len = std::min(tile, n - s);
      if (stochastic_) noise.Fill(ctx.offset + s, len, words.data());
      BestKernels().fp4_codes(in.data() + s, len, block_, e3m0_,
                              stochastic_ ? words.data() : nullptr, scales + s / block_,
                              tmp.data());
      uint8_t* dst = packed + s / 2;
      for (size_t j = 0; j < len / 2; ++j) {
        dst[j] = static_cast<uint8_t>(tmp[2 * j] | (tmp[2 * j + 1] << 4));
      }
      if (len % 2) dst[len / 2] = tmp[len - 1];
    }
    return need;
  }

  Status DecodeImpl(std::span<const uint8_t> payload, const CodecContext&, std::span<float> out,
                    DecodeMode mode) const override {
    const size_t n = out.size();
    TERN_RETURN_IF_ERROR(CheckPayloadSize(payload.size(), MaxEncodedSize(n), "fp4"));
    const uint8_t* packed = payload.data() + CeilDiv(n, block_);
    for (size_t b = 0; b < CeilDiv(n, block_); ++b) {
      if (payload[b] == 0xFF) return InvalidArgumentError("fp4: E8M0 scale 0xFF (NaN)");
    }
    // Per block a 16-entry table of the signed grid values times 2^X.
    return DecodeTiled(out, mode, [&](size_t begin, size_t len, float* dst) {
      for (size_t i = begin, end = begin + len; i < end;) {
        const size_t b = i / block_, stop = std::min(end, (b + 1) * block_);
        const float scale = Pow2(static_cast<int>(payload[b]) - 127);
        float lut[16];
        for (int c = 0; c < 8; ++c) {
          lut[c] = values_[c] * scale;
          lut[c + 8] = -lut[c];
        }
        BestKernels().nibble_lut(packed, i, stop - i, lut, dst + (i - begin));
        i = stop;
      }
      return OkStatus();
    });
  }

 private:
  static CodecTraits Traits(size_t block, bool stochastic) {
    CodecTraits t;
    t.unbiased = stochastic;
    t.uses_peer_noise = stochastic;
    t.bits_per_element = 4 + 8.0 / static_cast<double>(block);
    return t;
  }

  bool e3m0_;
  size_t block_;
  bool stochastic_;
  const float* values_;
};

}  // namespace

Result<std::unique_ptr<Codec>> MakeFp4(const StageArgs& args) {
  TERN_ASSIGN_OR_RETURN(std::string format, args.params.Choice("format", {"e2m1", "e3m0"}));
  TERN_ASSIGN_OR_RETURN(int64_t block, args.params.Integer("block", 1, int64_t{1} << 24));
  TERN_ASSIGN_OR_RETURN(std::string rounding,
                        args.params.Choice("rounding", {"nearest", "stochastic"}));
  return std::unique_ptr<Codec>(new Fp4Codec(args.spec, format == "e3m0",
                                             static_cast<size_t>(block),
                                             rounding == "stochastic"));
}

}  // namespace tern::codec
