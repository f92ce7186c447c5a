// ComPEFT (reference/codecs.md 1.1): keep the floor(n * density) + 1 values
// of largest magnitude (ComPEFT's keep-count with distinct magnitudes; ties
// go to the lower index), send only their signs, decode as alpha * std * sign
// with std the unbiased (n - 1), mean-subtracted standard deviation of the
// whole payload. Payload: u32 count, fp32 alpha*std, ceil(count/8) sign bytes
// (bit set = positive), then the position bit stream.
#include <algorithm>
#include <cmath>

#include "codec/bits.h"
#include "codec/codec_util.h"
#include "codec/index_coder.h"
#include "codec/kernels.h"
#include "codec/select.h"
#include "codec/stages.h"

namespace tern::codec {
namespace {

class ComPeftCodec final : public Codec {
 public:
  ComPeftCodec(std::string spec, double density, double alpha, IndexCoding index)
      : Codec(std::move(spec), Traits(density)), density_(density), alpha_(alpha), index_(index) {}

  size_t MaxEncodedSize(size_t n) const override {
    const size_t k = Keep(n);
    return 8 + CeilDiv(k, 8) + CeilDiv(MaxPositionBits(index_, k, n), 8);
  }

  Result<size_t> Encode(std::span<const float> in, const CodecContext&,
                        std::span<uint8_t> out) const override {
    const size_t n = in.size();
    if (n > 0xFFFFFFFFu) return InvalidArgumentError("compeft: payloads hold < 2^32 values");
    TERN_RETURN_IF_ERROR(CheckEncodeBuffer(out.size(), MaxEncodedSize(n)));
    thread_local Selection sel;
    SelectTopK(in, Keep(n), &sel);
    const size_t count = sel.pos.size();
    StoreU32(out.data(), static_cast<uint32_t>(count));
    StoreStat(out.data() + 4, static_cast<float>(alpha_ * StdDev(in)));
    uint8_t* signs = out.data() + 8;
    std::memset(signs, 0, CeilDiv(count, 8));
    for (size_t j = 0; j < count; ++j) {
      if (!std::signbit(sel.val[j])) signs[j / 8] |= static_cast<uint8_t>(1u << (j % 8));
    }
    const size_t head = 8 + CeilDiv(count, 8);
    BitWriter w(out.data() + head, out.size() - head);
    EncodePositions(index_, sel.pos.data(), count, &w);
    return head + w.Finish();
  }

  Status DecodeImpl(std::span<const uint8_t> payload, const CodecContext&, std::span<float> out,
                    DecodeMode mode) const override {
    const size_t n = out.size();
    if (n > 0xFFFFFFFFu) return InvalidArgumentError("compeft: payloads hold < 2^32 values");
    if (payload.size() < 8) return DataLossError("compeft: truncated payload");
    const size_t count = LoadU32(payload.data());
    if (count > Keep(n)) return InvalidArgumentError("compeft: more values than the codec keeps");
    const float scale = LoadF32(payload.data() + 4);
    const size_t head = 8 + CeilDiv(count, 8);
    if (payload.size() < head) return DataLossError("compeft: truncated signs");
    const uint8_t* signs = payload.data() + 8;
    BitReader r(payload.data() + head, payload.size() - head);
    ClearForStore(out, mode);
    float* o = out.data();
    TERN_RETURN_IF_ERROR(DecodePositions(index_, &r, count, n, [&](size_t j, uint32_t p) {
      Apply(o + p, (signs[j / 8] >> (j % 8)) & 1 ? scale : -scale, mode);
      return true;
    }));
    if (!r.AtPaddedEnd()) return DataLossError("compeft: trailing bytes");
    return OkStatus();
  }

 private:
  static CodecTraits Traits(double density) {
    CodecTraits t;
    t.sparse = true;
    t.density = density;
    t.bits_per_element = MaskEntropy(density) + density;  // positions, one sign bit each
    return t;
  }
  size_t Keep(size_t n) const {
    if (n == 0) return 0;
    return std::min(n, static_cast<size_t>(std::floor(static_cast<double>(n) * density_)) + 1);
  }
  // Unbiased (n - 1) standard deviation about the mean (FixedSum order).
  static double StdDev(std::span<const float> x) {
    if (x.size() < 2) return 0.0;
    const Kernels& k = BestKernels();
    const double mean =
        k.fixed_sum(x.data(), x.size(), SumTerm::kValue, 0.0) / static_cast<double>(x.size());
    return std::sqrt(k.fixed_sum(x.data(), x.size(), SumTerm::kCenteredSquare, mean) /
                     static_cast<double>(x.size() - 1));
  }

  double density_;
  double alpha_;
  IndexCoding index_;
};

}  // namespace

Result<std::unique_ptr<Codec>> MakeComPeft(const StageArgs& args) {
  TERN_ASSIGN_OR_RETURN(double density, args.params.Number("density", 1e-9, 1.0));
  TERN_ASSIGN_OR_RETURN(double alpha, args.params.Number("alpha", 1e-9, 1e9));
  return std::unique_ptr<Codec>(new ComPeftCodec(args.spec, density, alpha, args.index));
}

}  // namespace tern::codec
