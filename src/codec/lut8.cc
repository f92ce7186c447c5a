// lut8: INTELLECT-1's 8-bit lookup-table quantizer (reference/codecs.md 7.1).
// sigma = sqrt(sum x^2 / (n - 1)) (no mean subtracted; FixedSum order), scale = 6 sigma / 256,
// q = clamp(round-half-even(x / scale) + 128, 0, 255), and each bin decodes
// to the mean of the values that fell in it (0 if empty).
// Payload: 256 fp32 bin values, then n code bytes.
#include <cfloat>
#include <cmath>
#include <cstring>

#include "codec/codec_util.h"
#include "codec/kernels.h"
#include "codec/stages.h"

namespace tern::codec {
namespace {

constexpr size_t kBins = 256;

class Lut8Codec final : public Codec {
 public:
  explicit Lut8Codec(std::string spec) : Codec(std::move(spec), Traits()) {}

  size_t MaxEncodedSize(size_t n) const override { return 4 * kBins + n; }

  Result<size_t> Encode(std::span<const float> in, const CodecContext&,
                        std::span<uint8_t> out) const override {
    const size_t n = in.size(), need = MaxEncodedSize(n);
    TERN_RETURN_IF_ERROR(CheckEncodeBuffer(out.size(), need));
    uint8_t* codes = out.data() + 4 * kBins;
    const double sq = BestKernels().fixed_sum(in.data(), n, SumTerm::kSquare, 0.0);
    const double sigma = n > 1 ? std::sqrt(sq / static_cast<double>(n - 1)) : std::sqrt(sq);
    const float scale = static_cast<float>(6.0 * sigma / 256.0);
    const bool zero = !(scale >= FLT_MIN) || std::isinf(scale);
    BestKernels().lut8_codes(in.data(), n, scale, zero, codes);
    // Bin means: double sums in index order per bin (docs/codec_spec.md).
    double sum[kBins] = {};
    uint64_t count[kBins] = {};
    for (size_t i = 0; i < n; ++i) {
      sum[codes[i]] += in[i];
      ++count[codes[i]];
    }
    for (size_t b = 0; b < kBins; ++b) {
      float v = count[b] ? static_cast<float>(sum[b] / static_cast<double>(count[b])) : 0.0f;
      StoreStat(out.data() + 4 * b, v);
    }
    return need;
  }

  Status DecodeImpl(std::span<const uint8_t> payload, const CodecContext&, std::span<float> out,
                    DecodeMode mode) const override {
    TERN_RETURN_IF_ERROR(CheckPayloadSize(payload.size(), MaxEncodedSize(out.size()), "lut8"));
    float lut[kBins];
    std::memcpy(lut, payload.data(), sizeof(lut));
    const uint8_t* codes = payload.data() + 4 * kBins;
    return DecodeTiled(out, mode, [&](size_t begin, size_t len, float* dst) {
      for (size_t i = 0; i < len; ++i) dst[i] = lut[codes[begin + i]];
      return OkStatus();
    });
  }

 private:
  static CodecTraits Traits() {
    CodecTraits t;
    t.bits_per_element = 8;  // + 8192 bits per payload
    return t;
  }
};

}  // namespace

Result<std::unique_ptr<Codec>> MakeLut8(const StageArgs& args) {
  return std::unique_ptr<Codec>(new Lut8Codec(args.spec));
}

}  // namespace tern::codec
