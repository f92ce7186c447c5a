// top-k (docs/codec_spec.md, "topk"): the values of largest magnitude with
// their positions. Payload: u32 count, count fp32 values (ascending
// position), then the position bit stream (codec/index_coder.h).
#include <algorithm>

#include "codec/bits.h"
#include "codec/codec_util.h"
#include "codec/index_coder.h"
#include "codec/select.h"
#include "codec/stages.h"

namespace tern::codec {
namespace {

constexpr size_t kMaxSparseN = 0xFFFFFFFFu;

class TopKCodec final : public Codec {
 public:
  TopKCodec(std::string spec, double density, bool sampled, IndexCoding index)
      : Codec(std::move(spec), Traits(density, index)),
        density_(density),
        sampled_(sampled),
        index_(index) {}

  size_t MaxEncodedSize(size_t n) const override {
    const size_t cap = Cap(n);
    return 4 + 4 * cap + CeilDiv(MaxPositionBits(index_, cap, n), 8);
  }

  Result<size_t> Encode(std::span<const float> in, const CodecContext& ctx,
                        std::span<uint8_t> out) const override {
    const size_t n = in.size();
    if (n > kMaxSparseN) return InvalidArgumentError("topk: payloads hold < 2^32 values");
    TERN_RETURN_IF_ERROR(CheckEncodeBuffer(out.size(), MaxEncodedSize(n)));
    thread_local Selection sel;
    const size_t k = KeepCount(density_, n);
    if (sampled_) {
      SelectSampled(in, k, ctx, &sel);
    } else {
      SelectTopK(in, k, &sel);
    }
    const size_t count = sel.pos.size();
    StoreU32(out.data(), static_cast<uint32_t>(count));
    if (count > 0) std::memcpy(out.data() + 4, sel.val.data(), 4 * count);
    const size_t head = 4 + 4 * count;
    BitWriter w(out.data() + head, out.size() - head);
    EncodePositions(index_, sel.pos.data(), count, &w);
    return head + w.Finish();
  }

  Status DecodeImpl(std::span<const uint8_t> payload, const CodecContext&, std::span<float> out,
                    DecodeMode mode) const override {
    const size_t n = out.size();
    if (n > kMaxSparseN) return InvalidArgumentError("topk: payloads hold < 2^32 values");
    if (payload.size() < 4) return DataLossError("topk: truncated payload");
    const size_t count = LoadU32(payload.data());
    if (count > Cap(n)) return InvalidArgumentError("topk: more values than the codec keeps");
    if (payload.size() < 4 + 4 * count) return DataLossError("topk: truncated values");
    const uint8_t* vals = payload.data() + 4;
    BitReader r(vals + 4 * count, payload.size() - 4 - 4 * count);
    ClearForStore(out, mode);
    float* o = out.data();
    TERN_RETURN_IF_ERROR(DecodePositions(index_, &r, count, n, [&](size_t j, uint32_t p) {
      Apply(o + p, LoadF32(vals + 4 * j), mode);
      return true;
    }));
    if (!r.AtPaddedEnd()) return DataLossError("topk: trailing bytes");
    return OkStatus();
  }

 private:
  static CodecTraits Traits(double density, IndexCoding index) {
    CodecTraits t;
    t.sparse = true;
    t.density = density;
    // Values plus positions: Rice/gamma near the i.i.d. entropy H(p)/p.
    double pos_bits = 32.0;
    if (index.kind != IndexKind::kRaw) pos_bits = MaskEntropy(density) / std::min(density, 0.5);
    t.bits_per_element = density * (32.0 + pos_bits);
    return t;
  }
  size_t Cap(size_t n) const {
    const size_t k = KeepCount(density_, n);
    return sampled_ ? std::min(n, SampledCap(k)) : k;
  }

  double density_;
  bool sampled_;
  IndexCoding index_;
};

}  // namespace

Result<std::unique_ptr<Codec>> MakeTopK(const StageArgs& args) {
  TERN_ASSIGN_OR_RETURN(double density, args.params.Number("density", 1e-9, 1.0));
  TERN_ASSIGN_OR_RETURN(std::string select, args.params.Choice("select", {"exact", "sampled"}));
  return std::unique_ptr<Codec>(
      new TopKCodec(args.spec, density, select == "sampled", args.index));
}

}  // namespace tern::codec
