// The uncompressed operations of Communicator::Impl: argument checks,
// algorithm choice, scratch buffers, and the copy to the caller's buffers
// that happens only after the algorithm succeeded (semantic 2).
#include <cstring>

#include "collective/algorithms.h"
#include "collective/communicator_impl.h"
#include "collective/plan.h"

namespace tern {
namespace {

using collective::Signature;

// Operation kinds in signatures. Never renumber (they travel in frames).
enum Kind : uint64_t {
  kAllReduce = 1,
  kReduceScatter = 2,
  kAllGather = 3,
  kAllGatherBytes = 4,
  kBroadcast = 5,
  kBroadcastBytes = 6,
  kBarrier = 7,
  kPointToPoint = 8,
};

Deadline After(std::chrono::milliseconds timeout) { return Deadline::After(timeout); }

}  // namespace

Status Communicator::Impl::AllReduce(TensorView buf, const AllReduceOptions& o, OpStats* stats) {
  if (o.codec != nullptr || o.feedback != nullptr) {
    OpContext ctx{After(o.timeout), stats, Algorithm::kDirect};
    return CompressedAllReduce(buf, o, ctx);
  }
  if (o.algorithm == Algorithm::kDirect) {
    return InvalidArgumentError("all-reduce: kDirect is for compressed all-reduce only");
  }
  OpContext ctx{After(o.timeout), stats, o.algorithm};
  return Execute(ctx, [&]() -> Status {
    const size_t bytes = buf.nbytes(), elem = DTypeSize(buf.dtype);
    Algorithm algo = o.algorithm;
    if (algo == Algorithm::kAuto) {
      algo = bytes < options_.small_bytes ? Algorithm::kRecursiveDoubling : Algorithm::kRing;
    }
    ctx.algorithm = algo;
    if (size_ == 1) return OkStatus();
    Begin(Signature({kAllReduce, static_cast<uint64_t>(buf.dtype), buf.numel(),
                     static_cast<uint64_t>(o.op), static_cast<uint64_t>(algo), o.tag,
                     options_.chunk_bytes}),
          options_.chunk_bytes, ctx.deadline, bytes);
    uint8_t* work = work_.Get(bytes);
    const auto* in = static_cast<const uint8_t*>(buf.data);
    if (algo == Algorithm::kRing) {
      const collective::Plan plan =
          collective::EvenPlan(buf.numel(), size_, elem, options_.chunk_bytes);
      // In place: the result lands in the caller's buffer, whose chunks are
      // saved before being overwritten and restored if the ring fails.
      collective::RingArgs a{&plan, true, true, buf.dtype, o.op, in, work, tmp_.Get(bytes)};
      TERN_RETURN_IF_ERROR(collective::RunRing(engine_, a));
      ++coll_seq_;
      return OkStatus();
    } else if (algo == Algorithm::kHalvingDoubling) {
      collective::HalvingDoublingArgs a{
          buf.dtype, o.op, buf.numel(), options_.chunk_bytes, in, work,
          tmp_.Get(collective::HalvingDoublingTmpElements(buf.numel(), size_) * elem)};
      TERN_RETURN_IF_ERROR(collective::RunHalvingDoubling(engine_, a));
    } else {
      const size_t tmp_bytes =
          bytes * static_cast<size_t>(collective::RecursiveDoublingTmpBuffers(size_));
      collective::RecursiveDoublingArgs a{buf.dtype, o.op, buf.numel(), options_.chunk_bytes,
                                          in, work, tmp_.Get(tmp_bytes)};
      TERN_RETURN_IF_ERROR(collective::RunRecursiveDoubling(engine_, a));
    }
    ++coll_seq_;
    std::memcpy(buf.data, work, bytes);
    return OkStatus();
  });
}

Status Communicator::Impl::ReduceScatter(const TensorView& in, TensorView out,
                                         const ReduceScatterOptions& o, OpStats* stats) {
  if (in.dtype != out.dtype) return InvalidArgumentError("reduce-scatter: dtypes differ");
  OpContext ctx{After(o.timeout), stats, Algorithm::kRing};
  return Execute(ctx, [&]() -> Status {
    const Segment mine = SegmentOf(in.numel(), size_, rank_);
    if (out.numel() != mine.count) {
      return InvalidArgumentError("reduce-scatter: output has " + std::to_string(out.numel()) +
                                  " elements, segment " + std::to_string(rank_) + " has " +
                                  std::to_string(mine.count));
    }
    const size_t elem = DTypeSize(in.dtype);
    const auto* src = static_cast<const uint8_t*>(in.data);
    if (size_ == 1) {
      std::memcpy(out.data, src, in.nbytes());
      return OkStatus();
    }
    Begin(Signature({kReduceScatter, static_cast<uint64_t>(in.dtype), in.numel(),
                     static_cast<uint64_t>(o.op), o.tag, options_.chunk_bytes}),
          options_.chunk_bytes, ctx.deadline, in.nbytes());
    uint8_t* work = work_.Get(in.nbytes());
    const collective::Plan plan = collective::EvenPlan(in.numel(), size_, elem, options_.chunk_bytes);
    collective::RingArgs a{&plan, true, false, in.dtype, o.op, src, work};
    TERN_RETURN_IF_ERROR(collective::RunRing(engine_, a));
    ++coll_seq_;
    std::memcpy(out.data, work + mine.begin * elem, mine.count * elem);
    return OkStatus();
  });
}

Status Communicator::Impl::AllGather(const TensorView& in, TensorView out,
                                     const CollectiveOptions& o, OpStats* stats) {
  if (in.dtype != out.dtype) return InvalidArgumentError("all-gather: dtypes differ");
  OpContext ctx{After(o.timeout), stats, Algorithm::kRing};
  return Execute(ctx, [&]() -> Status {
    const size_t bytes = in.nbytes();
    if (out.numel() != in.numel() * static_cast<size_t>(size_)) {
      return InvalidArgumentError("all-gather: output must hold size() * input elements");
    }
    uint8_t* work = work_.Get(bytes * static_cast<size_t>(size_));
    std::memcpy(work + bytes * static_cast<size_t>(rank_), in.data, bytes);
    if (size_ > 1) {
      Begin(Signature({kAllGather, static_cast<uint64_t>(in.dtype), in.numel(), o.tag,
                       options_.chunk_bytes}),
            options_.chunk_bytes, ctx.deadline, bytes * static_cast<size_t>(size_));
      const collective::Plan plan = collective::MakePlan(
          std::vector<size_t>(static_cast<size_t>(size_), in.numel()), DTypeSize(in.dtype),
          options_.chunk_bytes);
      collective::RingArgs a{&plan, false, true, in.dtype, ReduceOp::kSum, nullptr, work};
      TERN_RETURN_IF_ERROR(collective::RunRing(engine_, a));
      ++coll_seq_;
    }
    std::memcpy(out.data, work, bytes * static_cast<size_t>(size_));
    return OkStatus();
  });
}

Status Communicator::Impl::AllGatherBytes(std::string_view mine, std::vector<std::string>* out,
                                          const CollectiveOptions& o, OpStats* stats) {
  OpContext ctx{After(o.timeout), stats, Algorithm::kRing};
  return Execute(ctx, [&]() -> Status {
    std::vector<uint64_t> sizes(static_cast<size_t>(size_), 0);
    sizes[static_cast<size_t>(rank_)] = mine.size();
    const uint32_t sig = Signature({kAllGatherBytes, o.tag, options_.chunk_bytes});
    if (size_ > 1) {
      Begin(sig, 8, ctx.deadline);
      TERN_RETURN_IF_ERROR(collective::RunExchangeSizes(engine_, mine.size(), sizes.data()));
    }
    std::vector<size_t> counts;
    size_t total = 0;
    for (int r = 0; r < size_; ++r) {
      if (sizes[r] > o.max_blob_bytes) {
        return DataLossError("all-gather: rank " + std::to_string(r) + " announced " +
                             std::to_string(sizes[r]) + " bytes, above max_blob_bytes");
      }
      counts.push_back(static_cast<size_t>(sizes[r]));
      total += counts.back();
    }
    const collective::Plan plan = collective::MakePlan(counts, 1, options_.chunk_bytes);
    uint8_t* work = work_.Get(total);
    if (!mine.empty()) std::memcpy(work + plan.segments[rank_].begin, mine.data(), mine.size());
    if (size_ > 1) {
      Begin(sig, options_.chunk_bytes, ctx.deadline, total);
      collective::RingArgs a{&plan, false, true, DType::kF32, ReduceOp::kSum, nullptr, work};
      TERN_RETURN_IF_ERROR(collective::RunRing(engine_, a));
      ++coll_seq_;
    }
    std::vector<std::string> result;
    for (const Segment& s : plan.segments) {
      result.emplace_back(reinterpret_cast<const char*>(work) + s.begin, s.count);
    }
    *out = std::move(result);
    return OkStatus();
  });
}

Status Communicator::Impl::Broadcast(TensorView buf, int root, const CollectiveOptions& o,
                                     OpStats* stats) {
  OpContext ctx{After(o.timeout), stats, o.algorithm};
  return Execute(ctx, [&]() -> Status {
    if (root < 0 || root >= size_) return InvalidArgumentError("broadcast: root out of range");
    const size_t bytes = buf.nbytes();
    Algorithm algo = o.algorithm;
    if (algo == Algorithm::kAuto) {
      algo = bytes < options_.small_bytes || size_ <= 2 ? Algorithm::kDirect : Algorithm::kRing;
    }
    if (algo == Algorithm::kRecursiveDoubling || algo == Algorithm::kHalvingDoubling) {
      algo = Algorithm::kDirect;
    }
    ctx.algorithm = algo;
    if (size_ == 1) return OkStatus();
    Begin(Signature({kBroadcast, bytes, static_cast<uint64_t>(root), static_cast<uint64_t>(algo),
                     o.tag, options_.chunk_bytes}),
          options_.chunk_bytes, ctx.deadline, bytes);
    uint8_t* work = rank_ == root ? nullptr : work_.Get(bytes);
    collective::BroadcastArgs a{algo, root, bytes, options_.chunk_bytes,
                                static_cast<const uint8_t*>(buf.data), work};
    TERN_RETURN_IF_ERROR(collective::RunBroadcast(engine_, a));
    ++coll_seq_;
    if (work != nullptr) std::memcpy(buf.data, work, bytes);
    return OkStatus();
  });
}

Status Communicator::Impl::BroadcastBytes(std::string* data, int root, const CollectiveOptions& o,
                                          OpStats* stats) {
  OpContext ctx{After(o.timeout), stats, Algorithm::kDirect};
  return Execute(ctx, [&]() -> Status {
    if (root < 0 || root >= size_) return InvalidArgumentError("broadcast: root out of range");
    if (size_ == 1) return OkStatus();
    const uint32_t sig = Signature({kBroadcastBytes, static_cast<uint64_t>(root), o.tag,
                                    options_.chunk_bytes});
    uint8_t size_le[8];
    const uint64_t n = rank_ == root ? data->size() : 0;
    for (int i = 0; i < 8; ++i) size_le[i] = static_cast<uint8_t>(n >> (8 * i));
    Begin(sig, 8, ctx.deadline);
    collective::BroadcastArgs sa{Algorithm::kDirect, root, 8, 8, size_le, size_le};
    TERN_RETURN_IF_ERROR(collective::RunBroadcast(engine_, sa));
    uint64_t len = 0;
    for (int i = 0; i < 8; ++i) len |= static_cast<uint64_t>(size_le[i]) << (8 * i);
    if (len > o.max_blob_bytes) {
      return DataLossError("broadcast: root announced " + std::to_string(len) +
                           " bytes, above max_blob_bytes");
    }
    std::string received;
    if (rank_ != root) received.resize(static_cast<size_t>(len));
    const Algorithm algo =
        len < options_.small_bytes || size_ <= 2 ? Algorithm::kDirect : Algorithm::kRing;
    Begin(sig, options_.chunk_bytes, ctx.deadline, static_cast<size_t>(len));
    collective::BroadcastArgs a{algo, root, static_cast<size_t>(len), options_.chunk_bytes,
                                reinterpret_cast<const uint8_t*>(data->data()),
                                reinterpret_cast<uint8_t*>(received.data())};
    TERN_RETURN_IF_ERROR(collective::RunBroadcast(engine_, a));
    ++coll_seq_;
    if (rank_ != root) *data = std::move(received);
    return OkStatus();
  });
}

Status Communicator::Impl::Barrier(const CollectiveOptions& o, OpStats* stats) {
  OpContext ctx{After(o.timeout), stats, Algorithm::kDirect};
  return Execute(ctx, [&]() -> Status {
    if (size_ == 1) return OkStatus();
    Begin(Signature({kBarrier, o.tag}), 0, ctx.deadline);
    TERN_RETURN_IF_ERROR(collective::RunBarrier(engine_));
    ++coll_seq_;
    return OkStatus();
  });
}

Status Communicator::Impl::PointToPoint(int peer, const TensorView* send, TensorView* recv,
                                        const CollectiveOptions& o, OpStats* stats) {
  OpContext ctx{After(o.timeout), stats, Algorithm::kDirect};
  return Execute(ctx, [&]() -> Status {
    if (peer < 0 || peer >= size_ || peer == rank_) {
      return InvalidArgumentError("point-to-point: peer " + std::to_string(peer) +
                                  " is not another rank");
    }
    BeginPointToPoint(peer, Signature({kPointToPoint, o.tag, options_.chunk_bytes}),
                      options_.chunk_bytes, ctx.deadline, recv != nullptr ? recv->nbytes() : 0);
    collective::PointToPointArgs a;
    a.peer = peer;
    a.chunk_bytes = options_.chunk_bytes;
    if (send != nullptr) {
      a.do_send = true;
      a.send = static_cast<const uint8_t*>(send->data);
      a.send_bytes = send->nbytes();
    }
    if (recv != nullptr) {
      a.do_recv = true;
      a.recv_bytes = recv->nbytes();
      a.recv = work_.Get(a.recv_bytes);
    }
    TERN_RETURN_IF_ERROR(collective::RunPointToPoint(engine_, a));
    ++p2p_seq_[static_cast<size_t>(peer)];
    if (recv != nullptr) std::memcpy(recv->data, a.recv, a.recv_bytes);
    return OkStatus();
  });
}

}  // namespace tern
