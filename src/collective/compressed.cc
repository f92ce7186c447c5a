// Compressed all-reduce (DESIGN.md semantic 3). Words:
//   segment j   the part of the tensor rank j owns (SegmentOf), cut into
//               `chunks` chunks; each chunk is coded independently with
//               CodecContext.offset = its first element
//   contribution  a rank's encoded chunk of segment j, sent to owner j
//               (the owner encodes its own too, and keeps it)
//   reduced     the owner's encoding of the fp32 sum of the decoded
//               contributions, added in rank order; sent to every rank,
//               which decodes it (the owner too) into the result
// Every rank ends with the same bits because each reduced chunk is encoded
// once and all ranks decode the same bytes. Encoding runs while the network
// is busy (Engine::Handler::Idle); the caller's buffer and the codec state
// change only after every chunk arrived.
#include <algorithm>
#include <cstring>
#include <vector>

#include "collective/algorithms.h"
#include "collective/communicator_impl.h"
#include "collective/plan.h"
#include "util/hash.h"

namespace tern {
namespace {

class Compressed : public collective::Engine::Handler {
 public:
  struct Args {
    const collective::Plan* plan;
    const Codec* codec;            // decodes everything
    ErrorFeedback* feedback;       // encodes contributions if set
    CodecContext ctx;              // seed, step, tensor_id
    std::vector<uint64_t> peer_ids;
    const float* x;                // input, fp32
    float* out;                    // result, fp32
    float* acc;                    // one chunk
    uint8_t* slots;                // encoded payloads, see Slot()
    size_t slot_bytes;             // MaxEncodedSize of the largest chunk
    bool average;
  };

  Compressed(collective::Engine& e, const Args& a)
      : e_(e), a_(a), n_(e.size()), r_(e.rank()), k_(e.streams()), chunks_(a.plan->chunks) {
    sizes_.assign(static_cast<size_t>(kRegions * n_ * chunks_), 0);
    have_.assign(static_cast<size_t>(chunks_), 0);
  }

  void Start() {
    for (int q = 0; q < n_; ++q) {
      if (q == r_) continue;
      for (int s = 0; s < k_; ++s) e_.Expect(q, s, 2 * collective::FramesOnStream(chunks_, k_, s));
    }
  }

  // Encodes the next own contribution (chunk-major, starting at the next
  // rank's segment so owners get their first chunks early).
  Result<bool> Idle() override {
    if (encoded_ == n_ * chunks_) return false;
    const int c = encoded_ / n_, j = (r_ + 1 + encoded_ % n_) % n_;
    ++encoded_;
    const Segment ch = a_.plan->Chunk(j, c);
    const CodecContext ctx = Context(ch, r_);
    std::span<uint8_t> out(Slot(kOwn, j, c), a_.slot_bytes);
    std::span<const float> in(a_.x + ch.begin, ch.count);
    Result<size_t> size = a_.feedback != nullptr
                              ? a_.feedback->Encode(in, a_.plan->total_elements(), ctx, out)
                              : a_.codec->Encode(in, ctx, out);
    if (!size.ok()) return size.status();
    Size(kOwn, j, c) = *size;
    if (j == r_) {
      TERN_RETURN_IF_ERROR(Arrived(c));
    } else {
      e_.Send(j, collective::StreamOf(c, k_), collective::kPhaseContribution, 0,
              static_cast<uint32_t>(c), Slot(kOwn, j, c), *size);
    }
    return true;
  }

  bool Finished() const override { return encoded_ == n_ * chunks_ && decoded_ == n_ * chunks_; }

  Result<uint8_t*> Place(int peer, const wire::DataHeader& h, size_t bytes) override {
    const bool contrib = h.phase == collective::kPhaseContribution;
    if ((!contrib && h.phase != collective::kPhaseReduced) || h.chunk >= static_cast<uint32_t>(chunks_) ||
        bytes > a_.slot_bytes) {
      return DataLossError("compressed all-reduce: unexpected frame from rank " +
                           std::to_string(peer));
    }
    const int region = contrib ? kContrib : kReduced, c = static_cast<int>(h.chunk);
    Size(region, peer, c) = bytes;
    return Slot(region, peer, c);
  }

  Status Received(int peer, const wire::DataHeader& h, uint8_t*, size_t) override {
    const int c = static_cast<int>(h.chunk);
    if (h.phase == collective::kPhaseContribution) return Arrived(c);
    return DecodeInto(kReduced, peer, c, peer);
  }

 private:
  // Payload regions, each n * chunks slots of slot_bytes.
  enum { kOwn = 0, kContrib = 1, kReduced = 2, kRegions = 3 };
  uint8_t* Slot(int region, int rank, int c) const {
    return a_.slots + (static_cast<size_t>((region * n_ + rank) * chunks_ + c)) * a_.slot_bytes;
  }
  size_t& Size(int region, int rank, int c) {
    return sizes_[static_cast<size_t>((region * n_ + rank) * chunks_ + c)];
  }
  CodecContext Context(const Segment& ch, int rank) const {
    CodecContext ctx = a_.ctx;
    ctx.offset = ch.begin;
    ctx.peer_id = a_.peer_ids[static_cast<size_t>(rank)];
    return ctx;
  }
  static std::span<const uint8_t> Bytes(const uint8_t* p, size_t n) { return {p, n}; }

  // A contribution to own chunk c is in; once all n are, reduce it.
  Status Arrived(int c) {
    if (++have_[c] < n_) return OkStatus();
    const Segment ch = a_.plan->Chunk(r_, c);
    std::span<float> acc(a_.acc, ch.count);
    std::memset(a_.acc, 0, ch.count * sizeof(float));
    for (int q = 0; q < n_; ++q) {  // rank order: the sum is reproducible
      const int region = q == r_ ? kOwn : kContrib;
      const int slot_rank = q == r_ ? r_ : q;
      Status s = a_.codec->DecodeAdd(Bytes(Slot(region, slot_rank, c), Size(region, slot_rank, c)),
                                     Context(ch, q), acc);
      if (!s.ok()) return s.WithContext("contribution of rank " + std::to_string(q));
    }
    if (a_.average) {
      const float div = static_cast<float>(n_);
      for (float& v : acc) v = v / div;
    }
    std::span<uint8_t> out(Slot(kReduced, r_, c), a_.slot_bytes);
    TERN_ASSIGN_OR_RETURN(size_t size, a_.codec->Encode(acc, Context(ch, r_), out));
    Size(kReduced, r_, c) = size;
    for (int q = 0; q < n_; ++q) {
      if (q == r_) continue;
      e_.Send(q, collective::StreamOf(c, k_), collective::kPhaseReduced, 0,
              static_cast<uint32_t>(c), Slot(kReduced, r_, c), size);
    }
    return DecodeInto(kReduced, r_, c, r_);
  }

  Status DecodeInto(int region, int owner, int c, int slot_rank) {
    const Segment ch = a_.plan->Chunk(owner, c);
    Status s = a_.codec->Decode(Bytes(Slot(region, slot_rank, c), Size(region, slot_rank, c)),
                                Context(ch, owner), std::span<float>(a_.out + ch.begin, ch.count));
    if (!s.ok()) return s.WithContext("reduced chunk of rank " + std::to_string(owner));
    ++decoded_;
    return OkStatus();
  }

  collective::Engine& e_;
  const Args& a_;
  const int n_, r_, k_, chunks_;
  int encoded_ = 0, decoded_ = 0;
  std::vector<size_t> sizes_;
  std::vector<int> have_;
};

}  // namespace

Status Communicator::Impl::CompressedAllReduce(TensorView buf, const AllReduceOptions& o,
                                               OpContext& ctx) {
  if (o.codec != nullptr && o.feedback != nullptr) {
    return InvalidArgumentError("all-reduce: set codec or feedback, not both");
  }
  if (o.op != ReduceOp::kSum && o.op != ReduceOp::kAvg) {
    return InvalidArgumentError("compressed all-reduce supports sum and avg only");
  }
  if (o.algorithm != Algorithm::kAuto && o.algorithm != Algorithm::kDirect) {
    return InvalidArgumentError("compressed all-reduce runs kDirect only");
  }
  const Codec& codec = o.feedback != nullptr ? o.feedback->codec() : *o.codec;
  Status status = Execute(ctx, [&]() -> Status {
    const size_t numel = buf.numel();
    const collective::Plan plan =
        collective::EvenPlan(numel, size_, sizeof(float), options_.chunk_bytes);
    size_t largest = 0;
    for (int j = 0; j < size_; ++j) largest = std::max(largest, plan.Chunk(j, 0).count);
    const size_t slot = codec.MaxEncodedSize(largest);
    const size_t slots = static_cast<size_t>(3 * size_ * plan.chunks);
    // work: [x (if converted)] [out] [acc]; tmp: payload slots.
    float* base = reinterpret_cast<float*>(work_.Get((2 * numel + largest) * sizeof(float)));
    const float* x = buf.dtype == DType::kF32 ? static_cast<const float*>(buf.data) : base;
    if (buf.dtype != DType::kF32) ToFloat(buf, base);
    float* out = base + numel;
    Compressed::Args a{&plan, &codec, o.feedback, o.codec_context, {}, x, out,
                       out + numel, tmp_.Get(slots * slot), slot, o.op == ReduceOp::kAvg};
    const WorldView v = world_->View();
    for (const PeerInfo& p : v.peers) a.peer_ids.push_back(p.peer_id);
    Begin(collective::Signature({9, static_cast<uint64_t>(buf.dtype), numel,
                                 static_cast<uint64_t>(o.op), Xxh3(codec.spec().data(), codec.spec().size()),
                                 o.tag, options_.chunk_bytes, o.codec_context.seed,
                                 o.codec_context.step, o.codec_context.tensor_id}),
          slot, ctx.deadline, slots * slot / 3);
    Compressed handler(engine_, a);
    handler.Start();
    TERN_RETURN_IF_ERROR(engine_.Run(handler));
    ++coll_seq_;
    if (o.feedback != nullptr) {
      CodecContext agg = o.codec_context;
      agg.offset = 0;
      TERN_RETURN_IF_ERROR(o.feedback->Aggregate(std::span<float>(out, numel), numel, agg));
    }
    FromFloat(out, buf);
    return OkStatus();
  });
  if (o.feedback != nullptr && o.commit_feedback) {
    if (status.ok()) {
      o.feedback->Commit(o.codec_context.tensor_id);
    } else {
      o.feedback->Abort(o.codec_context.tensor_id);
    }
  }
  return status;
}

}  // namespace tern
