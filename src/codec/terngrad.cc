// TernGrad (reference/codecs.md 3.2): clip x at clip * std (population std,
// mean subtracted), s = max|clipped|, and each value becomes
// sign * s with probability |clipped| / s, else 0: unbiased for the clipped
// tensor. Payload: fp32 s, then trits t+1 in {0,1,2} packed five per byte
// (byte = sum t'_j 3^j, < 243).
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <vector>

#include "codec/codec_util.h"
#include "codec/noise.h"
#include "codec/stages.h"

namespace tern::codec {
namespace {

class TernGradCodec final : public Codec {
 public:
  TernGradCodec(std::string spec, double clip) : Codec(std::move(spec), Traits()), clip_(clip) {}

  size_t MaxEncodedSize(size_t n) const override { return 4 + CeilDiv(n, 5); }

  Result<size_t> Encode(std::span<const float> in, const CodecContext& ctx,
                        std::span<uint8_t> out) const override {
    const size_t n = in.size(), need = MaxEncodedSize(n);
    TERN_RETURN_IF_ERROR(CheckEncodeBuffer(out.size(), need));
    const float c = ClipBound(in);
    float s = 0.0f;
    for (float v : in) {
      float a = std::min(std::fabs(v), c);
      s = a > s ? a : s;
    }
    const bool zero = !(s >= FLT_MIN) || std::isinf(s);
    StoreF32(out.data(), zero ? 0.0f : s);
    uint8_t* trits = out.data() + 4;
    const NoiseWords noise = NoiseWords::PeerNoise(ctx, RngPurpose::kTernGrad);
    constexpr size_t kTile = 5 * 1024;  // whole bytes of trits
    thread_local std::vector<uint32_t> words;
    words.resize(std::min(n, kTile));
    for (size_t j = 0; j < CeilDiv(n, 5); ++j) {
      if (5 * j % kTile == 0) noise.Fill(ctx.offset + 5 * j, std::min(kTile, n - 5 * j), words.data());
      unsigned byte = 0, pow3 = 1;
      for (size_t i = 5 * j; i < std::min(n, 5 * j + 5); ++i, pow3 *= 3) {
        const float a = std::min(std::fabs(in[i]), c);
        const bool keep = !zero && U01(words[i % kTile]) < a / s;
        const unsigned t = keep ? (std::signbit(in[i]) ? 0 : 2) : 1;
        byte += t * pow3;
      }
      trits[j] = static_cast<uint8_t>(byte);
    }
    return need;
  }

  Status DecodeImpl(std::span<const uint8_t> payload, const CodecContext&, std::span<float> out,
                    DecodeMode mode) const override {
    const size_t n = out.size();
    TERN_RETURN_IF_ERROR(CheckPayloadSize(payload.size(), MaxEncodedSize(n), "terngrad"));
    const float s = LoadF32(payload.data());
    const float lut[3] = {-s, 0.0f, s};
    const uint8_t* trits = payload.data() + 4;
    for (size_t j = 0; j < CeilDiv(n, 5); ++j) {
      if (trits[j] >= 243) return InvalidArgumentError("terngrad: trit byte >= 243");
    }
    static constexpr unsigned kPow3[5] = {1, 3, 9, 27, 81};
    return DecodeTiled(out, mode, [&](size_t begin, size_t len, float* dst) {
      for (size_t i = begin; i < begin + len; ++i) {
        dst[i - begin] = lut[(trits[i / 5] / kPow3[i % 5]) % 3];
      }
      return OkStatus();
    });
  }

 private:
  static CodecTraits Traits() {
    CodecTraits t;
    t.unbiased = true;  // for the clipped tensor
    t.uses_peer_noise = true;
    t.bits_per_element = 1.6;
    return t;
  }

  // clip * population std (FixedSum order); +inf when clip is 0.
  float ClipBound(std::span<const float> in) const {
    if (clip_ <= 0.0 || in.empty()) return INFINITY;
    const double n = static_cast<double>(in.size());
    const double mean = SumOf(in.data(), in.size()) / n;
    return static_cast<float>(clip_ *
                              std::sqrt(SumOfCenteredSquares(in.data(), in.size(), mean) / n));
  }

  double clip_;
};

}  // namespace

Result<std::unique_ptr<Codec>> MakeTernGrad(const StageArgs& args) {
  TERN_ASSIGN_OR_RETURN(double clip, args.params.Number("clip", 0.0, 1e6));
  return std::unique_ptr<Codec>(new TernGradCodec(args.spec, clip));
}

}  // namespace tern::codec
