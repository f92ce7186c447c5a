// fp32 (identity), fp16 and bf16: one value after another, little-endian.
#include <algorithm>
#include <cstring>

#include "codec/codec_util.h"
#include "codec/kernels.h"
#include "codec/stages.h"
#include "tern/tensor.h"

namespace tern::codec {
namespace {

enum class CastKind { kF32, kF16, kBF16 };

class CastCodec final : public Codec {
 public:
  CastCodec(std::string spec, CastKind kind)
      : Codec(std::move(spec), Traits(kind)), kind_(kind), width_(kind == CastKind::kF32 ? 4 : 2) {}

  size_t MaxEncodedSize(size_t n) const override { return n * width_; }

  Result<size_t> Encode(std::span<const float> in, const CodecContext&,
                        std::span<uint8_t> out) const override {
    const size_t need = MaxEncodedSize(in.size());
    TERN_RETURN_IF_ERROR(CheckEncodeBuffer(out.size(), need));
    if (in.empty()) return size_t{0};
    if (kind_ == CastKind::kF32) {
      std::memcpy(out.data(), in.data(), need);
      return need;
    }
    if (kind_ == CastKind::kBF16) {
      BestKernels().to_bf16(in.data(), in.size(), out.data());
      return need;
    }
    // Converted in stack-sized pieces: the output may be unaligned.
    uint16_t tmp[1024];
    for (size_t s = 0; s < in.size(); s += 1024) {
      size_t len = std::min<size_t>(1024, in.size() - s);
      FloatToHalf(in.data() + s, tmp, len);
      std::memcpy(out.data() + 2 * s, tmp, 2 * len);
    }
    return need;
  }

  Status DecodeImpl(std::span<const uint8_t> payload, const CodecContext&, std::span<float> out,
                    DecodeMode mode) const override {
    TERN_RETURN_IF_ERROR(CheckPayloadSize(payload.size(), MaxEncodedSize(out.size()), "cast"));
    float tmp[1024];
    uint16_t half[1024];
    for (size_t s = 0; s < out.size(); s += 1024) {
      size_t len = std::min<size_t>(1024, out.size() - s);
      const uint8_t* src = payload.data() + width_ * s;
      float* dst = mode == DecodeMode::kStore ? out.data() + s : tmp;
      if (kind_ == CastKind::kF32) {
        std::memcpy(dst, src, 4 * len);
      } else {
        std::memcpy(half, src, 2 * len);
        if (kind_ == CastKind::kF16) {
          HalfToFloat(half, dst, len);
        } else {
          BF16ToFloat(half, dst, len);
        }
      }
      if (mode != DecodeMode::kStore) {
        for (size_t i = 0; i < len; ++i) Apply(out.data() + s + i, tmp[i], mode);
      }
    }
    return OkStatus();
  }

 private:
  static CodecTraits Traits(CastKind kind) {
    CodecTraits t;
    t.lossless = kind == CastKind::kF32;
    t.bits_per_element = kind == CastKind::kF32 ? 32 : 16;
    return t;
  }
  CastKind kind_;
  size_t width_;
};

}  // namespace

Result<std::unique_ptr<Codec>> MakeCast(const StageArgs& args) {
  const std::string& name = args.params.canonical();
  CastKind kind = name == "fp32" ? CastKind::kF32 : name == "fp16" ? CastKind::kF16 : CastKind::kBF16;
  return std::unique_ptr<Codec>(new CastCodec(args.spec, kind));
}

}  // namespace tern::codec
