// random-k (docs/codec_spec.md, "randk"): k = KeepCount(density, n)
// positions drawn uniformly without replacement (Floyd's algorithm) from the
// shared-choice stream, so every peer keeps the same coordinates and payloads
// add linearly. Positions are never sent; decoding rescales by n / k, which
// makes the codec unbiased. Payload: the k kept fp32 values in ascending
// position order.
#include <algorithm>
#include <vector>

#include "codec/codec_util.h"
#include "codec/stages.h"

namespace tern::codec {
namespace {

// Calls fn(j, position) for the k chosen positions in ascending order.
template <typename Fn>
void ForEachChosen(size_t n, size_t k, const CodecContext& ctx, Fn&& fn) {
  thread_local std::vector<uint64_t> bitmap;
  bitmap.assign(CeilDiv(n, 64), 0);
  RngStream rng = SharedChoice(ctx, RngPurpose::kRandomK);
  for (size_t j = n - k; j < n; ++j) {  // Floyd: a uniform k-subset
    size_t t = rng.UniformInt(j + 1);
    if (bitmap[t / 64] >> (t % 64) & 1) t = j;
    bitmap[t / 64] |= uint64_t{1} << (t % 64);
  }
  size_t c = 0;
  for (size_t w = 0; w < bitmap.size(); ++w) {
    for (uint64_t b = bitmap[w]; b != 0; b &= b - 1) {
      fn(c++, w * 64 + static_cast<size_t>(__builtin_ctzll(b)));
    }
  }
}

class RandKCodec final : public Codec {
 public:
  RandKCodec(std::string spec, double density)
      : Codec(std::move(spec), Traits(density)), density_(density) {}

  size_t MaxEncodedSize(size_t n) const override { return 4 * KeepCount(density_, n); }

  Result<size_t> Encode(std::span<const float> in, const CodecContext& ctx,
                        std::span<uint8_t> out) const override {
    const size_t n = in.size(), k = KeepCount(density_, n);
    TERN_RETURN_IF_ERROR(CheckEncodeBuffer(out.size(), 4 * k));
    uint8_t* o = out.data();
    ForEachChosen(n, k, ctx, [&](size_t j, size_t p) { StoreF32(o + 4 * j, in[p]); });
    return 4 * k;
  }

  Status DecodeImpl(std::span<const uint8_t> payload, const CodecContext& ctx,
                    std::span<float> out, DecodeMode mode) const override {
    const size_t n = out.size(), k = KeepCount(density_, n);
    TERN_RETURN_IF_ERROR(CheckPayloadSize(payload.size(), 4 * k, "randk"));
    ClearForStore(out, mode);
    if (k == 0) return OkStatus();
    const float scale = static_cast<float>(static_cast<double>(n) / static_cast<double>(k));
    const uint8_t* vals = payload.data();
    float* o = out.data();
    ForEachChosen(n, k, ctx, [&](size_t j, size_t p) {
      Apply(o + p, LoadF32(vals + 4 * j) * scale, mode);
    });
    return OkStatus();
  }

 private:
  static CodecTraits Traits(double density) {
    CodecTraits t;
    t.unbiased = true;
    t.sparse = true;
    t.density = density;
    t.bits_per_element = 32.0 * density;
    return t;
  }
  double density_;
};

}  // namespace

Result<std::unique_ptr<Codec>> MakeRandK(const StageArgs& args) {
  TERN_ASSIGN_OR_RETURN(double density, args.params.Number("density", 1e-9, 1.0));
  return std::unique_ptr<Codec>(new RandKCodec(args.spec, density));
}

}  // namespace tern::codec
