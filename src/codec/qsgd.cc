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

#include "codec/bits.h"
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
    const size_t nb = CeilDiv(n, block_);
    BitWriter w(out.data() + 4 * nb, need - 4 * nb);
    const NoiseWords noise = NoiseWords::PeerNoise(ctx, RngPurpose::kQsgd);
    thread_local std::vector<uint32_t> words;
    words.resize(std::min(n, block_));
    const float fs = static_cast<float>(s_);
    for (size_t s = 0, b = 0; s < n; s += block_, ++b) {
      const size_t len = std::min(block_, n - s);
      const float norm = static_cast<float>(std::sqrt(SumOfSquares(in.data() + s, len)));
      const bool zero = !(norm >= FLT_MIN) || std::isinf(norm);
      StoreF32(out.data() + 4 * b, zero ? 0.0f : norm);
      const float inv = zero ? 0.0f : fs / norm;
      noise.Fill(ctx.offset + s, len, words.data());
      for (size_t i = s; i < s + len; ++i) {
        float level = std::floor(std::fabs(in[i]) * inv + U01(words[i - s]));
        level = level < fs ? level : fs;  // NaN -> s
        const int l = static_cast<int>(level);
        w.Put(static_cast<uint64_t>(std::signbit(in[i]) ? s_ - l : s_ + l), width_);
      }
    }
    w.Finish();
    return need;
  }

  Status DecodeImpl(std::span<const uint8_t> payload, const CodecContext&, std::span<float> out,
                    DecodeMode mode) const override {
    const size_t n = out.size();
    TERN_RETURN_IF_ERROR(CheckPayloadSize(payload.size(), MaxEncodedSize(n), "qsgd"));
    const size_t nb = CeilDiv(n, block_);
    BitReader r(payload.data() + 4 * nb, payload.size() - 4 * nb);
    return DecodeTiled(out, mode, [&](size_t begin, size_t len, float* dst) -> Status {
      float step = 0.0f;
      size_t next = 0;
      for (size_t i = begin; i < begin + len; ++i) {
        if (i >= next) {
          const size_t b = i / block_;
          next = (b + 1) * block_;
          step = LoadF32(payload.data() + 4 * b) / static_cast<float>(s_);
        }
        uint64_t code = 0;
        if (!r.Get(width_, &code)) return DataLossError("qsgd: truncated codes");
        if (code > static_cast<uint64_t>(2 * s_)) return InvalidArgumentError("qsgd: bad code");
        dst[i - begin] = static_cast<float>(static_cast<int>(code) - s_) * step;
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
