// TernGrad (reference/codecs.md 3.2): clip x at clip * std (population std,
// mean subtracted), s = max|clipped|, and each value becomes
// sign * s with probability |clipped| / s, else 0: unbiased for the clipped
// tensor. Payload: fp32 s, then trits t+1 in {0,1,2} packed five per byte
// (byte = sum t'_j 3^j, < 243).
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <vector>

#include "codec/codec_util.h"
#include "codec/kernels.h"
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
    const Kernels& k = BestKernels();
    const float c = ClipBound(in);
    const float s = k.clipped_max(in.data(), n, c);
    const bool zero = !(s >= FLT_MIN) || std::isinf(s);
    StoreF32(out.data(), zero ? 0.0f : s);
    uint8_t* trits = out.data() + 4;
    const NoiseWords noise = NoiseWords::PeerNoise(ctx, RngPurpose::kTernGrad);
    constexpr size_t kTile = 80 * (kNoiseTile / 80);  // whole bytes of trits
    thread_local std::vector<uint32_t> words;
    words.resize(std::min(n, kTile));
    for (size_t t = 0; t < n; t += kTile) {
      const size_t len = std::min(kTile, n - t);
      noise.Fill(ctx.offset + t, len, words.data());
      k.terngrad_trits(in.data() + t, len, c, s, zero, words.data(), trits + t / 5);
    }
    return need;
  }

  Status DecodeImpl(std::span<const uint8_t> payload, const CodecContext&, std::span<float> out,
                    DecodeMode mode) const override {
    const size_t n = out.size();
    TERN_RETURN_IF_ERROR(CheckPayloadSize(payload.size(), MaxEncodedSize(n), "terngrad"));
    const float s = LoadF32(payload.data());
    const uint8_t* trits = payload.data() + 4;
    uint8_t top = 0;
    for (size_t j = 0; j < CeilDiv(n, 5); ++j) top = std::max(top, trits[j]);
    if (top >= 243) return InvalidArgumentError("terngrad: trit byte >= 243");
    // The five values of every byte, so a byte decodes with one 20-byte copy.
    float table[243][5];
    const float value[3] = {-s, 0.0f, s};
    for (int b = 0; b < 243; ++b) {
      for (int j = 0, r = b; j < 5; ++j, r /= 3) table[b][j] = value[r % 3];
    }
    return DecodeTiled(out, mode, [&](size_t begin, size_t len, float* dst) {
      size_t i = begin;
      const size_t end = begin + len;
      for (; i < end && i % 5 != 0; ++i) dst[i - begin] = table[trits[i / 5]][i % 5];
      for (; i + 5 <= end; i += 5) std::memcpy(dst + (i - begin), table[trits[i / 5]], 20);
      for (; i < end; ++i) dst[i - begin] = table[trits[i / 5]][i % 5];
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
    const Kernels& k = BestKernels();
    const double mean = k.fixed_sum(in.data(), in.size(), SumTerm::kValue, 0.0) / n;
    return static_cast<float>(
        clip_ * std::sqrt(k.fixed_sum(in.data(), in.size(), SumTerm::kCenteredSquare, mean) / n));
  }

  double clip_;
};

}  // namespace

Result<std::unique_ptr<Codec>> MakeTernGrad(const StageArgs& args) {
  TERN_ASSIGN_OR_RETURN(double clip, args.params.Number("clip", 0.0, 1e6));
  return std::unique_ptr<Codec>(new TernGradCodec(args.spec, clip));
}

}  // namespace tern::codec
