// SafePoint: the safe-point retry loop of a `tern train` worker, with the
// strategy's replicated state kept in SharedState (tern/shared_state.h) by
// a StrategySync (tern/algo_sync.h).
//
// Run() is one safe point: StrategySync::SafePoint (BeforeSafePoint,
// UpdateTopology, the shared-state sync that gives a joiner everything and
// repairs a diverged peer, Connect, AfterSafePoint), repeated while the
// world keeps changing (kAborted, kUnavailable, kDeadlineExceeded,
// kDataLoss), up to the overall deadline. StrategySync re-registers the
// replicated spans before every sync, so state whose buffers move (error
// feedback swaps its committed buffers on a whole-tensor commit) is synced
// and hashed where it lives now.
//
// The first call of every worker (a joiner's too) happens right after
// MasterWorld::Join; its UpdateTopology then returns at once unless the
// world changed meanwhile.
//
//   TERN_ASSIGN_OR_RETURN(auto sp, SafePoint::Create(world, net_world, comm, strategy, 30s, 600s));
//   TERN_RETURN_IF_ERROR(sp->Run().status());      // a joiner receives the state here
//   ... if (sp->Due()) sp->Run(); ... and after a retryable hook error.
//
// Thread-safety: one thread (the worker's training loop).
#ifndef TERN_TRAIN_SAFE_POINT_H_
#define TERN_TRAIN_SAFE_POINT_H_

#include <chrono>
#include <memory>
#include <string>

#include "tern/algo_sync.h"
#include "tern/communicator.h"
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
  int attempts = 0;         // StrategySync::SafePoint calls it took
  bool self_joined = false; // this peer did not vote (a joiner)
};

class SafePoint {
 public:
  // `world` carries the control plane and SharedState; `net_world` is the
  // World the communicator and strategy use (the same object, or a
  // LinkemWorld over it); `comm` the communicator over `net_world`. None
  // are owned; all must outlive the SafePoint. The strategy must be
  // attached. `run_config` (optional): this worker's RunConfigForAgreement
  // text, replicated like the strategy's state, so every safe point also
  // elects the run's config and Run() refuses a worker whose own differs.
  // Errors: SharedState::Create's and StrategySync::Create's.
  static Result<std::unique_ptr<SafePoint>> Create(MasterWorld* world, World* net_world,
                                                   Communicator* comm, Strategy* strategy,
                                                   std::chrono::milliseconds step_timeout,
                                                   std::chrono::milliseconds deadline,
                                                   std::string run_config = "");

  // True when the world wants a safe point: peers wait to join, or a new
  // revision was announced (a member left or died). Local; cheap.
  bool Due() const;

  // One safe point (see above). Blocks. Errors: kPermissionDenied (this
  // peer was expelled), kInvalidArgument (members registered different
  // state: a configuration mismatch; or the run's elected config differs
  // from this worker's `run_config`, naming the fields), kDeadlineExceeded (the world did not
  // settle within the deadline), the strategy's AfterSafePoint codes.
  Result<SafePointReport> Run();

  // Combined xxh3 over the replicated entries (at their current spans) and
  // the current metadata, equal on every member whose replicated state is
  // identical. Errors: re-registering a moved span (kInternal-like bugs).
  Result<uint64_t> StateHash();

 private:
  SafePoint(MasterWorld* world, World* net_world, Communicator* comm,
            std::chrono::milliseconds step_timeout, std::chrono::milliseconds deadline)
      : world_(world), net_world_(net_world), comm_(comm), step_timeout_(step_timeout),
        deadline_(deadline) {}

  MasterWorld* world_;
  World* net_world_;
  Communicator* comm_;
  std::chrono::milliseconds step_timeout_, deadline_;
  std::string own_config_, run_config_;  // run_config_: registered, the sync writes it
  std::unique_ptr<SharedState> state_;
  std::unique_ptr<StrategySync> sync_;  // unregisters from state_ first
};

}  // namespace tern::train

#endif  // TERN_TRAIN_SAFE_POINT_H_
