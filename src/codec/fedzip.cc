// FedZip (reference/codecs.md 2), as a decodable stream: keep the top
// density fraction by magnitude, cluster the kept values by k-means
// (centroids initialised at linspace(min, max), `iters` Lloyd iterations,
// nearest centroid with ties to the lower index), and send per kept value its
// position and its Huffman-coded cluster id, interleaved in one bit stream.
// Unlike the original, unkept values decode to exactly 0.
// Payload: u32 count, u8 clusters c, c fp32 centroids, c u8 code lengths,
// then the bit stream (position, id, position, id, ...).
#include <algorithm>
#include <array>
#include <cmath>

#include "codec/bits.h"
#include "codec/codec_util.h"
#include "codec/huffman.h"
#include "codec/index_coder.h"
#include "codec/kmeans.h"
#include "codec/select.h"
#include "codec/stages.h"

namespace tern::codec {
namespace {

static_assert(kMaxClusters == kMaxHuffmanSymbols, "one Huffman symbol per cluster");

class FedZipCodec final : public Codec {
 public:
  FedZipCodec(std::string spec, double density, int clusters, int iters, IndexCoding index)
      : Codec(std::move(spec), Traits(density, clusters)),
        density_(density),
        clusters_(clusters),
        iters_(iters),
        index_(index) {}

  size_t MaxEncodedSize(size_t n) const override {
    const size_t k = KeepCount(density_, n);
    return 5 + 5 * static_cast<size_t>(clusters_) +
           CeilDiv(MaxPositionBits(index_, k, n) + k * kMaxHuffmanLength, 8);
  }

  Result<size_t> Encode(std::span<const float> in, const CodecContext&,
                        std::span<uint8_t> out) const override {
    const size_t n = in.size();
    if (n > 0xFFFFFFFFu) return InvalidArgumentError("fedzip: payloads hold < 2^32 values");
    TERN_RETURN_IF_ERROR(CheckEncodeBuffer(out.size(), MaxEncodedSize(n)));
    thread_local Selection sel;
    thread_local std::vector<uint8_t> ids;
    SelectTopK(in, KeepCount(density_, n), &sel);
    float centroids[kMaxHuffmanSymbols];
    KMeans1D(std::span<const float>(sel.val.data(), sel.val.size()), clusters_, iters_, centroids, &ids);
    const std::array<uint64_t, kMaxClusters> counts = Histogram(ids.data(), ids.size());
    uint8_t len[kMaxHuffmanSymbols];
    HuffmanLengths(counts.data(), clusters_, len);
    HuffmanCode code;
    code.Init(len, clusters_);  // valid by construction (or unused when count is 0)
    const size_t count = sel.pos.size();
    uint8_t* o = out.data();
    StoreU32(o, static_cast<uint32_t>(count));
    o[4] = static_cast<uint8_t>(clusters_);
    for (int j = 0; j < clusters_; ++j) StoreStat(o + 5 + 4 * j, centroids[j]);
    std::memcpy(o + 5 + 4 * clusters_, len, clusters_);
    const size_t head = 5 + 5 * static_cast<size_t>(clusters_);
    BitWriter w(o + head, out.size() - head);
    EncodePositions(index_, sel.pos.data(), count, &w,
                    [&](size_t j, BitWriter* bw) { code.Put(ids[j], bw); });
    return head + w.Finish();
  }

  Status DecodeImpl(std::span<const uint8_t> payload, const CodecContext&, std::span<float> out,
                    DecodeMode mode) const override {
    const size_t n = out.size();
    if (n > 0xFFFFFFFFu) return InvalidArgumentError("fedzip: payloads hold < 2^32 values");
    const size_t head = 5 + 5 * static_cast<size_t>(clusters_);
    if (payload.size() < head) return DataLossError("fedzip: truncated header");
    const uint8_t* p = payload.data();
    const size_t count = LoadU32(p);
    if (count > KeepCount(density_, n)) {
      return InvalidArgumentError("fedzip: more values than the codec keeps");
    }
    if (p[4] != clusters_) return InvalidArgumentError("fedzip: cluster count mismatch");
    float centroids[kMaxHuffmanSymbols];
    for (int j = 0; j < clusters_; ++j) centroids[j] = LoadF32(p + 5 + 4 * j);
    HuffmanCode code;
    if (count > 0 && !code.Init(p + 5 + 4 * clusters_, clusters_)) {
      return InvalidArgumentError("fedzip: invalid Huffman code lengths");
    }
    BitReader r(p + head, payload.size() - head);
    ClearForStore(out, mode);
    float* o = out.data();
    TERN_RETURN_IF_ERROR(DecodePositions(index_, &r, count, n, [&](size_t, uint32_t pos) {
      int id = 0;
      if (!code.Get(&r, &id)) return false;
      Apply(o + pos, centroids[id], mode);
      return true;
    }));
    if (!r.AtPaddedEnd()) return DataLossError("fedzip: trailing bytes");
    return OkStatus();
  }

 private:
  static CodecTraits Traits(double density, int clusters) {
    CodecTraits t;
    t.sparse = true;
    t.density = density;
    t.bits_per_element = MaskEntropy(density) + density * std::log2(clusters);  // ids ~log2 c
    return t;
  }

  double density_;
  int clusters_;
  int iters_;
  IndexCoding index_;
};

}  // namespace

Result<std::unique_ptr<Codec>> MakeFedZip(const StageArgs& args) {
  TERN_ASSIGN_OR_RETURN(double density, args.params.Number("density", 1e-9, 1.0));
  TERN_ASSIGN_OR_RETURN(int64_t clusters, args.params.Integer("clusters", 2, kMaxHuffmanSymbols));
  TERN_ASSIGN_OR_RETURN(int64_t iters, args.params.Integer("iters", 0, 100));
  return std::unique_ptr<Codec>(new FedZipCodec(args.spec, density, static_cast<int>(clusters),
                                                static_cast<int>(iters), args.index));
}

}  // namespace tern::codec
