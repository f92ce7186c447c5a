// Scaled sign (EF-signSGD, 1-bit Adam): one bit per value (set for x >= 0,
// so sign(0) = +1) and one fp32 scale per block: mean |x| (l1) or
// ||x|| / sqrt(len) (l2), summed in the fixed order of kernels.h.
// Payload: fp32 scales, then the bits (value i is bit i%8 of byte i/8).
#include <algorithm>

#include "codec/codec_util.h"
#include "codec/kernels.h"
#include "codec/stages.h"

namespace tern::codec {
namespace {

class SignCodec final : public Codec {
 public:
  SignCodec(std::string spec, bool l2, size_t block)
      : Codec(std::move(spec), Traits(block)), l2_(l2), block_(block) {}

  size_t MaxEncodedSize(size_t n) const override { return 4 * Blocks(n) + CeilDiv(n, 8); }

  Result<size_t> Encode(std::span<const float> in, const CodecContext&,
                        std::span<uint8_t> out) const override {
    const size_t n = in.size(), need = MaxEncodedSize(n);
    TERN_RETURN_IF_ERROR(CheckEncodeBuffer(out.size(), need));
    if (n == 0) return need;
    BestKernels().sign_pack(in.data(), n, BlockOf(n), l2_, out.data(),
                            out.data() + 4 * Blocks(n));
    return need;
  }

  Status DecodeImpl(std::span<const uint8_t> payload, const CodecContext&, std::span<float> out,
                    DecodeMode mode) const override {
    const size_t n = out.size();
    TERN_RETURN_IF_ERROR(CheckPayloadSize(payload.size(), MaxEncodedSize(n), "sign"));
    const uint8_t* bits = payload.data() + 4 * Blocks(n);
    const size_t block = BlockOf(n);
    for (size_t s = 0, b = 0; s < n; s += block, ++b) {
      const float sc = LoadF32(payload.data() + 4 * b);
      const float lut[2] = {-sc, sc};
      const size_t end = std::min(n, s + block);
      float* o = out.data();
      if (mode == DecodeMode::kStore) {
        for (size_t i = s; i < end; ++i) o[i] = lut[(bits[i / 8] >> (i % 8)) & 1];
      } else if (mode == DecodeMode::kAdd) {
        for (size_t i = s; i < end; ++i) o[i] += lut[(bits[i / 8] >> (i % 8)) & 1];
      } else {
        for (size_t i = s; i < end; ++i) o[i] -= lut[(bits[i / 8] >> (i % 8)) & 1];
      }
    }
    return OkStatus();
  }

 private:
  static CodecTraits Traits(size_t block) {
    CodecTraits t;
    t.bits_per_element = 1.0 + (block ? 32.0 / static_cast<double>(block) : 0.0);
    return t;
  }
  size_t BlockOf(size_t n) const { return block_ ? block_ : std::max<size_t>(n, 1); }
  size_t Blocks(size_t n) const { return n == 0 ? 0 : CeilDiv(n, BlockOf(n)); }

  bool l2_;
  size_t block_;
};

}  // namespace

Result<std::unique_ptr<Codec>> MakeSign(const StageArgs& args) {
  TERN_ASSIGN_OR_RETURN(std::string scale, args.params.Choice("scale", {"l1", "l2"}));
  TERN_ASSIGN_OR_RETURN(int64_t block, args.params.Integer("block", 0, int64_t{1} << 24));
  if (block % 16 != 0) {
    return InvalidArgumentError("sign: block=" + std::to_string(block) +
                                " must be 0 or a multiple of 16");
  }
  return std::unique_ptr<Codec>(
      new SignCodec(args.spec, scale == "l2", static_cast<size_t>(block)));
}

}  // namespace tern::codec
