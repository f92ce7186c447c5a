// SafePoint: the retry loop of tern/strategy.h for a worker of a
// master-backed run, with the strategy's replicated state kept in
// SharedState (tern/shared_state.h).
//
// At construction the strategy's replicated State() tensors and its
// ReplicatedMetadata() (the step counter, config hash, members) are
// registered with SharedState. Run() is one safe point:
//
//   strategy->BeforeSafePoint()          no background op outstanding
//   world->UpdateTopology()              joins and departures
//   metadata <- strategy->ReplicatedMetadata()
//   state->SyncSharedState()             joiners receive everything;
//                                        hashes compared, majority wins
//   strategy->SetReplicatedMetadata(metadata)
//   strategy->AfterSafePoint()           joiner rule, per-peer re-init
//
// retrying from UpdateTopology while the world keeps changing (kAborted,
// kUnavailable, kDeadlineExceeded), up to the overall deadline. A joiner's
// first call (and every worker's, at the start of a run) is
// Run(/*initial=*/true): it skips BeforeSafePoint and the first
// UpdateTopology, because MasterWorld::Join already adopted a revision.
// Links are not rebuilt here: the next collective connects on its own.
//
//   TERN_ASSIGN_OR_RETURN(auto sp, SafePoint::Create(world, net_world, strategy));
//   TERN_RETURN_IF_ERROR(sp->Run(/*initial=*/true).status());
//   ... if (sp->Due()) sp->Run(false); ... after a retryable hook error too.
//
// Thread-safety: one thread (the worker's training loop).
#ifndef TERN_TRAIN_SAFE_POINT_H_
#define TERN_TRAIN_SAFE_POINT_H_

#include <chrono>
#include <memory>
#include <string>

#include "tern/master.h"
#include "tern/shared_state.h"
#include "tern/strategy.h"

namespace tern::train {

// kUnavailable, kDeadlineExceeded, kAborted, kDataLoss: a failure the safe
// point is meant to repair (a peer died, a revision was announced).
bool RetryableAtSafePoint(const Status& s);

struct SafePointReport {
  uint64_t revision = 0;
  int members = 0;
  int fixed = 0;            // replicated entries overwritten by the sync
  uint64_t bytes_received = 0;
  double seconds = 0;
  int attempts = 0;         // UpdateTopology + sync rounds it took
  bool self_joined = false; // this peer was not a member before
};

class SafePoint {
 public:
  // `world` carries the control plane and SharedState; `net_world` is the
  // World the communicator and strategy use (the same object, or a
  // LinkemWorld over it). None are owned; all must outlive the SafePoint.
  // The strategy must be attached. Errors: SharedState::Create's and
  // RegisterTensor's.
  static Result<std::unique_ptr<SafePoint>> Create(MasterWorld* world, World* net_world,
                                                   Strategy* strategy,
                                                   std::chrono::milliseconds step_timeout,
                                                   std::chrono::milliseconds deadline);

  // True when the world wants a safe point: peers wait to join, or a new
  // revision was announced (a member left or died). Local; cheap.
  bool Due() const;

  // One safe point (see above). Blocks. Errors: kPermissionDenied (this
  // peer was expelled), kInvalidArgument (members registered different
  // state: a configuration mismatch), kDeadlineExceeded (the world did not
  // settle within the deadline), the strategy's AfterSafePoint codes.
  Result<SafePointReport> Run(bool initial);

  // Combined xxh3 over the replicated entries and the current metadata,
  // equal on every member whose replicated state is identical.
  uint64_t StateHash();

 private:
  SafePoint(MasterWorld* world, World* net_world, Strategy* strategy,
            std::chrono::milliseconds step_timeout, std::chrono::milliseconds deadline)
      : world_(world), net_world_(net_world), strategy_(strategy),
        step_timeout_(step_timeout), deadline_(deadline) {}

  MasterWorld* world_;
  World* net_world_;
  Strategy* strategy_;
  std::chrono::milliseconds step_timeout_, deadline_;
  std::unique_ptr<SharedState> state_;
  std::string metadata_;
};

}  // namespace tern::train

#endif  // TERN_TRAIN_SAFE_POINT_H_
