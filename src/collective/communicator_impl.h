// Communicator::Impl: the links of one revision, the operation queue, and
// the operations themselves (ops.cc, compressed.cc).
//
// Every operation runs on one thread at a time, in submission order: a
// synchronous call runs inline when nothing is queued, otherwise it queues
// and waits; async calls run on the worker thread. Each operation goes
// through Execute(), which (re)connects when needed, runs the algorithm on
// the Engine, and on failure aborts and closes every link (the next
// operation reconnects) and reports the culprit to the World.
#ifndef TERN_COLLECTIVE_COMMUNICATOR_IMPL_H_
#define TERN_COLLECTIVE_COMMUNICATOR_IMPL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "collective/engine.h"
#include "collective/scratch.h"
#include "net/links.h"
#include "tern/communicator.h"
#include "util/clock.h"

namespace tern {

class Communicator::Impl {
 public:
  // Below this many bytes per operation a second thread costs more than it
  // overlaps.
  static constexpr size_t kReceiveThreadBytes = size_t{2} << 20;

  Impl(World* world, CommunicatorOptions options);
  ~Impl();

  using OpFn = std::function<Status(OpStats*)>;
  // Runs `op` in order with the others and returns its status.
  Status Submit(OpFn op, OpStats* stats_out);
  std::unique_ptr<Work> SubmitAsync(OpFn op, OpStats* stats_out);

  // The operations; each runs on the executing thread (through Submit).
  Status Connect(Deadline deadline);
  Status AllReduce(TensorView buffer, const AllReduceOptions& o, OpStats* stats);
  Status ReduceScatter(const TensorView& in, TensorView out, const ReduceScatterOptions& o,
                       OpStats* stats);
  Status AllGather(const TensorView& in, TensorView out, const CollectiveOptions& o,
                   OpStats* stats);
  Status AllGatherBytes(std::string_view mine, std::vector<std::string>* out,
                        const CollectiveOptions& o, OpStats* stats);
  Status Broadcast(TensorView buffer, int root, const CollectiveOptions& o, OpStats* stats);
  Status BroadcastBytes(std::string* data, int root, const CollectiveOptions& o, OpStats* stats);
  Status Barrier(const CollectiveOptions& o, OpStats* stats);
  Status PointToPoint(int peer, const TensorView* send, TensorView* recv,
                      const CollectiveOptions& o, OpStats* stats);

  uint64_t revision() const;
  int rank() const;
  int size() const;
  OpStats TotalStats() const;

 private:
  struct Task;
  class WorkImpl;

  // Where an operation stands before its algorithm runs.
  struct OpContext {
    Deadline deadline = Deadline::Infinite();
    OpStats* stats = nullptr;
    Algorithm algorithm = Algorithm::kAuto;
  };
  // Connects if needed, runs `body`, tears the links down on failure, fills
  // stats. `body` calls Begin() itself (some operations run several).
  Status Execute(OpContext& ctx, const std::function<Status()>& body);
  Status EnsureConnected(Deadline deadline);
  void Fail(const Status& status);
  void CloseLinks();
  // Starts a collective frame sequence on the engine. Operations that
  // receive at least kReceiveThreadBytes use the engine's receive thread.
  void Begin(uint32_t signature, size_t max_payload, Deadline deadline, size_t bytes = 0);
  void BeginPointToPoint(int peer, uint32_t signature, size_t max_payload, Deadline deadline,
                         size_t bytes);
  Status CheckRevision() const;
  Status CompressedAllReduce(TensorView buffer, const AllReduceOptions& o, OpContext& ctx);

  void WorkerLoop();

  World* const world_;
  const CommunicatorOptions options_;

  // Links and engine: touched only by the executing thread.
  std::vector<net::PeerLink> links_;  // by rank; own rank empty
  bool connected_ = false;
  uint64_t links_revision_ = 0;
  int rank_ = 0, size_ = 1;
  collective::Engine engine_;
  uint64_t coll_seq_ = 0;
  std::vector<uint64_t> p2p_seq_;
  collective::Scratch work_, tmp_, extra_;

  // Queue and execution turn.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Task>> queue_;
  bool busy_ = false;  // an operation is executing (inline or on the worker)
  bool stop_ = false;
  OpStats total_;
  // Published copies for the const accessors (guarded by mu_).
  uint64_t pub_revision_ = 0;
  int pub_rank_ = -1, pub_size_ = 0;
  std::thread worker_;
};

namespace collective {
// A 32-bit signature of an operation's kind and arguments: frames carry it
// so ranks that disagree on the call are detected.
uint32_t Signature(std::initializer_list<uint64_t> fields);
}  // namespace collective

}  // namespace tern

#endif  // TERN_COLLECTIVE_COMMUNICATOR_IMPL_H_
