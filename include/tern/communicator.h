// Communicator: collectives and point-to-point transfers over a World.
//
// A Communicator holds TCP links to the peers of one revision of a World
// (several streams per peer; docs/wire_format.md) and runs collectives on
// them: all-reduce (sum, avg, min, max on fp32/fp16/bf16; optionally
// compressed with a Codec), reduce-scatter, all-gather (tensors or byte
// blobs of different sizes), broadcast, barrier, send/recv, and a PowerSGD
// low-rank all-reduce. Each call takes an options struct (timeout, tag,
// algorithm, codec) and has an async variant that returns a Work handle.
//
// Semantics (DESIGN.md 1-3):
//   - Atomic. A call that fails leaves the caller's buffers exactly as they
//     were and returns one of: kUnavailable (a peer's connection closed or
//     reset), kDeadlineExceeded (the timeout passed), kAborted (the master
//     announced a new revision), kDataLoss (a corrupt frame),
//     kInvalidArgument (bad arguments, or ranks called different
//     operations), kFailedPrecondition. A failure on any rank makes every
//     other rank of that operation fail too, within at most twice the
//     timeout: the failing rank sends an abort (code, culprit) on every link
//     and closes them. Links are then rebuilt by Connect() or lazily by the
//     next call. A rank returns OK only when it holds the complete result;
//     ranks that finish before a late failure may return OK while others
//     fail, which the next safe point's state sync repairs (semantic 4).
//   - Bit parity. After a successful all-reduce every rank holds the same
//     bits: each element's reduction is computed once (by its segment's
//     owner, or identically ordered on every rank) and copied.
//   - Order. Every rank must issue the same collectives in the same order
//     with the same sizes, dtypes, ops, algorithms and tags; a mismatch is
//     detected and returned as kInvalidArgument. Point-to-point calls must
//     match per pair of ranks, in order.
//
// Thread-safety: all methods are thread-safe. Operations run one at a time
// in submission order (async ones on a worker thread; a synchronous call
// waits for earlier async ones). Concurrent submissions from different
// threads are ordered arbitrarily, so give them distinct tags and make every
// rank submit in the same order.
//
// Example:
//   TERN_ASSIGN_OR_RETURN(auto comm, tern::Communicator::Create(world));
//   std::vector<float> grad(n);
//   TERN_RETURN_IF_ERROR(comm->AllReduce(tern::TensorView::Of(grad),
//                                        {.op = tern::ReduceOp::kAvg}));
//   auto work = comm->AllReduceAsync(tern::TensorView::Of(other), {});
//   ... compute ...
//   TERN_RETURN_IF_ERROR(work->Wait());
//
//   // int8-compressed average with error feedback, committed on success:
//   auto ef = tern::ErrorFeedback::Create("ef(int8:block=256)");
//   TERN_RETURN_IF_ERROR(comm->AllReduce(view, {.op = tern::ReduceOp::kAvg,
//       .feedback = ef->get(), .codec_context = {.seed = s, .step = t, .tensor_id = 7}}));
#ifndef TERN_COMMUNICATOR_H_
#define TERN_COMMUNICATOR_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tern/codec.h"
#include "tern/export.h"
#include "tern/status.h"
#include "tern/tensor.h"
#include "tern/world.h"

namespace tern {

enum class ReduceOp : uint8_t { kSum = 0, kAvg = 1, kMin = 2, kMax = 3 };

// Which algorithm a collective uses. kAuto picks by size: kRecursiveDoubling
// (latency-bound, log2(n) exchanges of the whole buffer) below
// CommunicatorOptions::small_bytes, kRing (pipelined reduce-scatter +
// all-gather, bandwidth-optimal) above. Compressed all-reduce always uses
// kDirect (contributions to each segment's owner, owners' encoded sums to
// all). Broadcast: kDirect (root to each) or kRing (pipelined chain).
// kHalvingDoubling (all-reduce only, never chosen by kAuto): recursive
// halving reduce-scatter and doubling all-gather, the ring's traffic in
// 2 log2(n) steps instead of 2(n - 1), for high-latency links.
enum class Algorithm : uint8_t {
  kAuto = 0,
  kRing = 1,
  kRecursiveDoubling = 2,
  kDirect = 3,
  kHalvingDoubling = 4,
};

// What one call moved (payload and frame headers, all links and streams).
struct OpStats {
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  double seconds = 0;  // from start of execution to completion
  Algorithm algorithm = Algorithm::kAuto;  // the one actually used
};

inline constexpr std::chrono::milliseconds kDefaultCollectiveTimeout{60000};

struct AllReduceOptions {
  ReduceOp op = ReduceOp::kSum;
  std::chrono::milliseconds timeout = kDefaultCollectiveTimeout;
  uint32_t tag = 0;
  Algorithm algorithm = Algorithm::kAuto;
  // Compression (op kSum or kAvg only; any dtype, coded as fp32). Set at
  // most one of `codec` (stateless) and `feedback` (error feedback; the
  // result is what ErrorFeedback::Aggregate returns, i.e. what the optimizer
  // should use). Not owned; must outlive the call.
  const Codec* codec = nullptr;
  ErrorFeedback* feedback = nullptr;
  // seed, step and tensor_id key the codec's randomness; offset and peer_id
  // are filled in per segment by the collective.
  CodecContext codec_context{};
  // With `feedback`: Commit(tensor_id) on success, Abort(tensor_id) on
  // failure. False leaves both to the caller (several tensors per step).
  bool commit_feedback = true;
  OpStats* stats = nullptr;  // if set, filled when the call completes
};

struct ReduceScatterOptions {
  ReduceOp op = ReduceOp::kSum;
  std::chrono::milliseconds timeout = kDefaultCollectiveTimeout;
  uint32_t tag = 0;
  Algorithm algorithm = Algorithm::kAuto;
  OpStats* stats = nullptr;
};

// All-gather, broadcast, barrier, send/recv.
struct CollectiveOptions {
  std::chrono::milliseconds timeout = kDefaultCollectiveTimeout;
  uint32_t tag = 0;
  Algorithm algorithm = Algorithm::kAuto;
  // Byte-blob variants refuse a peer's blob above this size (bounds the
  // allocation; semantic 7) with kDataLoss.
  uint64_t max_blob_bytes = uint64_t{1} << 30;
  OpStats* stats = nullptr;
};

struct CommunicatorOptions {
  // TCP data streams per peer link; large transfers are striped over them
  // to fill long fat pipes. 1..16.
  int streams = 2;
  // Largest pipeline chunk (one frame). Buffers are cut so that each
  // rank's segment has about 8 chunks of at least 32 KiB, at most this.
  // 4 KiB..64 MiB; must be equal on all ranks.
  size_t chunk_bytes = size_t{512} << 10;
  // kAuto picks the latency algorithm below this many bytes per rank.
  size_t small_bytes = size_t{64} << 10;
  // Timeout of the link set-up that calls make when links are missing.
  std::chrono::milliseconds connect_timeout{30000};
  // crc32c over every data frame (control frames always carry one).
  bool checksums = true;
};

// A handle on an asynchronous operation. The buffers it was given must stay
// alive and untouched until Wait() returns or Test() returns true.
// Destroying an unfinished handle waits for the operation. Thread-safe.
class TERN_EXPORT Work {
 public:
  virtual ~Work() = default;
  // Blocks until the operation finishes; returns its status (repeatably).
  virtual Status Wait() = 0;
  // Non-blocking: true once the operation finished (then Wait() returns at
  // once).
  virtual bool Test() = 0;
  // Counters of the finished operation (zeros before).
  virtual OpStats stats() const = 0;
};

// Segment `rank` of `numel` elements split over `size` ranks: the first
// numel % size segments hold one element more. Reduce-scatter gives rank r
// segment r.
struct Segment {
  size_t begin = 0;
  size_t count = 0;
};
TERN_EXPORT Segment SegmentOf(size_t numel, int size, int rank);

class TERN_EXPORT Communicator {
 public:
  // `world` must outlive the communicator; at most one communicator per
  // world. Does not connect (Connect() or the first call does).
  // Errors: kInvalidArgument (options out of range).
  static Result<std::unique_ptr<Communicator>> Create(World* world,
                                                      CommunicatorOptions options = {});
  ~Communicator();  // waits for outstanding async operations, closes links
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  // (Re)builds the links for the world's current revision: closes existing
  // ones, connects to every peer (the lower rank dials), handshakes (magic,
  // version, run id, revision, peer ids; authenticator if the world has
  // one). All ranks of the revision must call it (or a collective) within
  // `timeout`. Blocks. Waits for outstanding async operations first.
  // Errors: kDeadlineExceeded, kUnavailable (a peer refused or closed),
  // kPermissionDenied (authentication), kAborted (a newer revision was
  // announced), kDataLoss (a malformed handshake).
  Status Connect(std::chrono::milliseconds timeout);
  // The revision the links belong to (0 before the first Connect).
  uint64_t revision() const;
  int rank() const;  // in the links' revision (the world's before Connect)
  int size() const;

  // Reduces `buffer` (same dtype and numel on every rank) in place.
  // kAvg divides the sum by size() in fp32. Min/max propagate NaN as the
  // ordered min/max of IEEE (NaN wins). Blocks until done.
  Status AllReduce(TensorView buffer, const AllReduceOptions& options);
  std::unique_ptr<Work> AllReduceAsync(TensorView buffer, const AllReduceOptions& options);

  // `input` (numel N, same on all ranks) is reduced and rank r receives
  // SegmentOf(N, size(), r) in `output` (same dtype, exactly that numel).
  Status ReduceScatter(const TensorView& input, TensorView output,
                       const ReduceScatterOptions& options);
  std::unique_ptr<Work> ReduceScatterAsync(const TensorView& input, TensorView output,
                                           const ReduceScatterOptions& options);

  // `output` (size() * input.numel() elements, same dtype) receives every
  // rank's `input` in rank order. Any dtype; all ranks give equal numel.
  Status AllGather(const TensorView& input, TensorView output, const CollectiveOptions& options);
  std::unique_ptr<Work> AllGatherAsync(const TensorView& input, TensorView output,
                                       const CollectiveOptions& options);
  // Byte blobs of any sizes (e.g. zeroth-order scalars): (*out)[r] is rank
  // r's `mine`. *out is replaced only on success.
  Status AllGatherBytes(std::string_view mine, std::vector<std::string>* out,
                        const CollectiveOptions& options);
  std::unique_ptr<Work> AllGatherBytesAsync(std::string_view mine, std::vector<std::string>* out,
                                            const CollectiveOptions& options);

  // Copies `root`'s buffer to every rank's (equal dtype and numel).
  Status Broadcast(TensorView buffer, int root, const CollectiveOptions& options);
  std::unique_ptr<Work> BroadcastAsync(TensorView buffer, int root,
                                       const CollectiveOptions& options);
  // Root's *data replaces everyone's *data (sizes need not be known).
  Status BroadcastBytes(std::string* data, int root, const CollectiveOptions& options);

  // Returns once every rank has entered the barrier.
  Status Barrier(const CollectiveOptions& options);
  std::unique_ptr<Work> BarrierAsync(const CollectiveOptions& options);

  // Point-to-point (NoLoCo pairs). Send returns when the bytes are handed to
  // the kernel; Recv when `buffer` holds the peer's data (equal nbytes).
  // A pair that exchanges must use SendRecv: two blocking Sends can stall
  // each other on full socket buffers.
  Status Send(int peer, const TensorView& buffer, const CollectiveOptions& options);
  Status Recv(int peer, TensorView buffer, const CollectiveOptions& options);
  Status SendRecv(int peer, const TensorView& send, TensorView recv,
                  const CollectiveOptions& options);
  std::unique_ptr<Work> SendAsync(int peer, const TensorView& buffer,
                                  const CollectiveOptions& options);
  std::unique_ptr<Work> RecvAsync(int peer, TensorView buffer, const CollectiveOptions& options);
  std::unique_ptr<Work> SendRecvAsync(int peer, const TensorView& send, TensorView recv,
                                      const CollectiveOptions& options);

  // Totals over the communicator's life.
  OpStats TotalStats() const;

  class Impl;

 private:
  explicit Communicator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// PowerSGD low-rank all-reduce of 2-D fp32 tensors (Vogels et al.; the
// PyTorch hook in reference/codecs.md section 5): M (n x m) is approximated
// by P Q^T with P = all-reduce(M Q), orthogonalised, Q = all-reduce(M^T P) /
// size(); wire cost (n + m) * rank floats instead of n * m. Error feedback
// (M += e before, e = M - P Q^T after) and warm start (Q reused) are kept
// per tensor id and committed only when both all-reduces succeed. The first
// Q is drawn from Philox (seed, kPowerSgdInit, tensor_id), identical on all
// ranks. Tensors where (n + m) * rank * min_compression_rate >= n * m, and
// 1-D tensors, use a plain all-reduce (avg). The result is always the
// average (options.op is ignored; timeout, tag and stats apply, stats
// summing both all-reduces). Gram-Schmidt zeroes a column that is
// numerically dependent on earlier ones rather than normalising rounding
// noise (so rank-deficient inputs stay exact).
//
// Thread-compatible: one caller at a time.
struct PowerSgdOptions {
  int rank = 1;
  bool error_feedback = true;
  bool warm_start = true;
  double min_compression_rate = 2.0;
  uint64_t seed = 0;
};

class TERN_EXPORT PowerSgd {
 public:
  explicit PowerSgd(PowerSgdOptions options);
  ~PowerSgd();
  PowerSgd(const PowerSgd&) = delete;
  PowerSgd& operator=(const PowerSgd&) = delete;

  // Replaces `tensor` (fp32; shape [n, m], or any shape viewed as
  // [dim(0), numel/dim(0)]) by the average over ranks of its low-rank
  // approximation. Atomic like AllReduce: on failure the tensor and the
  // per-tensor state are unchanged. Errors: those of AllReduce;
  // kInvalidArgument for a non-fp32 tensor or a changed shape.
  Status AllReduce(Communicator& comm, uint64_t tensor_id, TensorView tensor,
                   const AllReduceOptions& options);
  // Forgets the state (residual, warm-start Q) of one tensor / all tensors.
  void Reset(uint64_t tensor_id);
  void ResetAll();

 private:
  struct State;
  PowerSgdOptions options_;
  std::unique_ptr<State> state_;
};

}  // namespace tern

#endif  // TERN_COMMUNICATOR_H_
