// The collective algorithms, each a Handler driven by the Engine. The
// Communicator picks one, sizes the scratch buffers, calls Engine::Begin,
// runs it, and copies results to the caller's buffers only on success
// (DESIGN.md semantic 2: algorithms never write the caller's buffers).
//
// Frame phases (wire DataHeader.phase), so frames of different stages of
// one operation can never be confused:
#ifndef TERN_COLLECTIVE_ALGORITHMS_H_
#define TERN_COLLECTIVE_ALGORITHMS_H_

#include <cstddef>
#include <cstdint>

#include "collective/engine.h"
#include "collective/plan.h"
#include "tern/communicator.h"
#include "tern/tensor.h"

namespace tern::collective {

enum Phase : uint8_t {
  kPhaseReduceScatter = 1,
  kPhaseAllGather = 2,
  kPhaseFold = 3,
  kPhaseRound = 4,
  kPhaseUnfold = 5,
  kPhasePointToPoint = 6,
  kPhaseBarrier = 7,
  kPhaseSizes = 8,
  kPhaseBroadcast = 9,
  kPhaseContribution = 10,
  kPhaseReduced = 11,
};

// Pipelined ring (Patarasuk & Yuan). Words: left/right = the ranks before
// and after this one; at reduce-scatter step s a rank sends segment
// (rank - s - 1) and receives (rank - s - 2), so after n - 1 steps it owns
// the reduction of segment `rank`; the all-gather then passes each owned
// segment n - 1 hops to the right. Each chunk moves independently: it is
// forwarded as soon as it was received and reduced.
//
// In-place mode (`backup` set, all-reduce only): `input` is the caller's
// buffer and receives the result, the all-gather lands in it directly and
// no final copy is needed. Every chunk of it is saved to `backup` before
// it is first overwritten (fused with the reduction that reads it anyway),
// and a failed run restores the overwritten chunks: atomic all the same.
struct RingArgs {
  const Plan* plan = nullptr;
  bool reduce_scatter = true;
  bool all_gather = true;
  DType dtype = DType::kF32;  // reduce-scatter only
  ReduceOp op = ReduceOp::kSum;
  const uint8_t* input = nullptr;  // plan layout; read by reduce-scatter
  uint8_t* work = nullptr;         // plan layout; the result (unless in place)
  uint8_t* backup = nullptr;       // plan layout; in-place mode if set
};
Status RunRing(Engine& e, const RingArgs& a);

// Recursive doubling all-reduce (latency-bound: log2(p) exchanges of the
// whole buffer, p = largest power of two <= n; ranks >= p first fold into
// rank - p and receive the result at the end). In every exchange both
// partners combine (lower group, higher group) in that order, so they
// compute the same bits. `tmp` holds (log2(p) + 1) * bytes.
struct RecursiveDoublingArgs {
  DType dtype = DType::kF32;
  ReduceOp op = ReduceOp::kSum;
  size_t count = 0;
  size_t chunk_bytes = 0;
  const uint8_t* input = nullptr;
  uint8_t* work = nullptr;  // the result
  uint8_t* tmp = nullptr;
};
Status RunRecursiveDoubling(Engine& e, const RecursiveDoublingArgs& a);
int RecursiveDoublingTmpBuffers(int n);

// Recursive halving + doubling all-reduce (Rabenseifner; see
// halving_doubling.cc): the ring's traffic in 2 log2(p) steps. Ranks >= p
// fold in and out as in recursive doubling. Each element is reduced once,
// by the rank owning its block (lower group's operand first), and copied
// to the others, so all ranks hold the same bits. `tmp` holds
// HalvingDoublingTmpElements(count, n) elements.
using HalvingDoublingArgs = RecursiveDoublingArgs;  // the same inputs
Status RunHalvingDoubling(Engine& e, const HalvingDoublingArgs& a);
size_t HalvingDoublingTmpElements(size_t count, int n);

// Broadcast from `root`: kDirect (root sends to each rank) or kRing (a
// pipelined chain root -> root+1 -> ...). Non-roots receive into `work`.
struct BroadcastArgs {
  Algorithm algorithm = Algorithm::kRing;
  int root = 0;
  size_t bytes = 0;
  size_t chunk_bytes = 0;
  const uint8_t* input = nullptr;  // root only
  uint8_t* work = nullptr;         // non-roots
};
Status RunBroadcast(Engine& e, const BroadcastArgs& a);

// Point-to-point: send `send_bytes` to `peer` and/or receive `recv_bytes`
// from it (chunked over the streams).
struct PointToPointArgs {
  int peer = -1;
  const uint8_t* send = nullptr;
  size_t send_bytes = 0;
  uint8_t* recv = nullptr;
  size_t recv_bytes = 0;
  bool do_send = false, do_recv = false;
  size_t chunk_bytes = 0;
};
Status RunPointToPoint(Engine& e, const PointToPointArgs& a);

// Dissemination barrier: ceil(log2 n) rounds of empty frames.
Status RunBarrier(Engine& e);

// floor(log2(n)) for n >= 1: the doubling algorithms' step count.
inline int Log2Floor(int n) {
  int k = 0;
  while ((2 << k) <= n) ++k;
  return k;
}

// Every rank sends 8 bytes `mine` to every other; sizes[r] = rank r's.
Status RunExchangeSizes(Engine& e, uint64_t mine, uint64_t* sizes);

}  // namespace tern::collective

#endif  // TERN_COLLECTIVE_ALGORITHMS_H_
