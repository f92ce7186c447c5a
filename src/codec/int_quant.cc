// int8 and int4: blockwise absmax quantization (docs/codec_spec.md, "int8,
// int4"). Payload: fp32 scale per block, then the codes (int8: one byte
// each; int4: two's-complement nibbles, value 2j in the low nibble of byte j).
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <vector>

#include "codec/codec_util.h"
#include "codec/kernels.h"
#include "codec/noise.h"
#include "codec/stages.h"

namespace tern::codec {
namespace {

class IntCodec final : public Codec {
 public:
  IntCodec(std::string spec, int bits, size_t block, bool stochastic)
      : Codec(std::move(spec), Traits(bits, block, stochastic)),
        bits_(bits),
        qmax_(bits == 8 ? 127 : 7),
        block_(block),
        stochastic_(stochastic) {}

  size_t MaxEncodedSize(size_t n) const override {
    return 4 * CeilDiv(n, block_) + (bits_ == 8 ? n : CeilDiv(n, 2));
  }

  Result<size_t> Encode(std::span<const float> in, const CodecContext& ctx,
                        std::span<uint8_t> out) const override {
    const size_t n = in.size(), need = MaxEncodedSize(n);
    TERN_RETURN_IF_ERROR(CheckEncodeBuffer(out.size(), need));
    uint8_t* scales = out.data();
    uint8_t* codes = out.data() + 4 * CeilDiv(n, block_);
    if (bits_ == 8) {
      Quantize(in.data(), n, ctx, scales, reinterpret_cast<int8_t*>(codes), 0);
      return need;
    }
    // int4: quantize a tile (whole blocks, an even count of values) to bytes,
    // then pack nibbles.
    thread_local std::vector<int8_t> tmp;
    size_t tile = block_ * 2 * std::max<size_t>(1, 16384 / (2 * block_));
    tmp.resize(std::min(tile, n));
    for (size_t s = 0; s < n; s += tile) {
      size_t len = std::min(tile, n - s);
      Quantize(in.data() + s, len, ctx, scales + 4 * (s / block_), tmp.data(), s);
      uint8_t* dst = codes + s / 2;
      for (size_t j = 0; j < len / 2; ++j) {
        dst[j] = static_cast<uint8_t>((tmp[2 * j] & 0xF) | (tmp[2 * j + 1] << 4));
      }
      if (len % 2) dst[len / 2] = static_cast<uint8_t>(tmp[len - 1] & 0xF);
    }
    return need;
  }

  Status DecodeImpl(std::span<const uint8_t> payload, const CodecContext&, std::span<float> out,
                    DecodeMode mode) const override {
    const size_t n = out.size();
    TERN_RETURN_IF_ERROR(CheckPayloadSize(payload.size(), MaxEncodedSize(n), "int"));
    const uint8_t* scales = payload.data();
    const uint8_t* codes = payload.data() + 4 * CeilDiv(n, block_);
    if (bits_ == 8) {
      BestKernels().dequant_int8(scales, reinterpret_cast<const int8_t*>(codes), n, block_,
                                 out.data(), mode);
      return OkStatus();
    }
    // Per block a 16-entry table of q * scale, indexed by the nibble.
    return DecodeTiled(out, mode, [&](size_t begin, size_t len, float* dst) {
      for (size_t i = begin, end = begin + len; i < end;) {
        const size_t b = i / block_, stop = std::min(end, (b + 1) * block_);
        const float sc = LoadF32(scales + 4 * b);
        float lut[16];
        for (int q = 0; q < 16; ++q) lut[q] = static_cast<float>(q >= 8 ? q - 16 : q) * sc;
        BestKernels().nibble_lut(codes, i, stop - i, lut, dst + (i - begin));
        i = stop;
      }
      return OkStatus();
    });
  }

 private:
  static CodecTraits Traits(int bits, size_t block, bool stochastic) {
    CodecTraits t;
    t.unbiased = stochastic;
    t.uses_peer_noise = stochastic;
    t.bits_per_element = bits + 32.0 / static_cast<double>(block);
    return t;
  }

  // Quantizes x[0, n) (whole blocks, except at the end of the payload) whose
  // first value is element `first` of the payload.
  void Quantize(const float* x, size_t n, const CodecContext& ctx, uint8_t* scales, int8_t* q,
                size_t first) const {
    if (!stochastic_) {
      BestKernels().quant_blocks(x, n, block_, qmax_, nullptr, scales, q);
      return;
    }
    // floor(v + u), u from element (offset + i)'s peer-noise word, drawn a
    // tile of whole blocks at a time.
    const NoiseWords noise = NoiseWords::PeerNoise(ctx, RngPurpose::kStochasticRounding);
    thread_local std::vector<uint32_t> words;
    const size_t tile = block_ * std::max<size_t>(1, kNoiseTile / block_);
    words.resize(std::min(tile, n));
    for (size_t s = 0; s < n; s += tile) {
      const size_t len = std::min(tile, n - s);
      noise.Fill(ctx.offset + first + s, len, words.data());
      BestKernels().quant_blocks(x + s, len, block_, qmax_, words.data(),
                                 scales + 4 * (s / block_), q + s);
    }
  }

  int bits_;
  int qmax_;
  size_t block_;
  bool stochastic_;
};

Result<std::unique_ptr<Codec>> MakeInt(const StageArgs& args, int bits) {
  TERN_ASSIGN_OR_RETURN(int64_t block, args.params.Integer("block", 1, int64_t{1} << 24));
  TERN_ASSIGN_OR_RETURN(std::string rounding,
                        args.params.Choice("rounding", {"nearest", "stochastic"}));
  return std::unique_ptr<Codec>(
      new IntCodec(args.spec, bits, static_cast<size_t>(block), rounding == "stochastic"));
}

}  // namespace

Result<std::unique_ptr<Codec>> MakeInt8(const StageArgs& args) { return MakeInt(args, 8); }
Result<std::unique_ptr<Codec>> MakeInt4(const StageArgs& args) { return MakeInt(args, 4); }

}  // namespace tern::codec
