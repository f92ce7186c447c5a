// StrategySync: a strategy's replicated state kept bit-identical across
// peers by SharedState, and the whole safe point in one call.
//
// It registers every replicated StateTensor of the strategy (outer
// parameters, outer optimizer state, replicated error-feedback state, the
// model's parameters for "ddp"/"zo", ...) as "<prefix><name>", and the
// strategy's replicated metadata (step, member list, config hash) as
// "<prefix>metadata". SafePoint() then runs the protocol of
// tern/strategy.h: BeforeSafePoint, UpdateTopology, SyncSharedState (a
// joiner receives everything; a diverged peer is repaired by the majority),
// Connect, AfterSafePoint (joiner rule, per-peer re-initialisation, NoLoCo's
// donor copy).
//
// Thread-safety: thread-compatible, like the strategy and the SharedState
// it uses (one application thread).
//
// Example (one worker's loop; src/train/safe_point.cc is a complete one):
//   auto retryable = [](const tern::Status& s) {
//     return s.code() == tern::StatusCode::kUnavailable ||
//            s.code() == tern::StatusCode::kAborted ||
//            s.code() == tern::StatusCode::kDeadlineExceeded;
//   };
//   TERN_ASSIGN_OR_RETURN(auto sync, tern::StrategySync::Create(strategy.get(), state.get()));
//   TERN_RETURN_IF_ERROR(sync->SafePoint(world.get(), comm.get(), 30s).status());  // joiners
//   while (strategy->step() < total) {
//     if (*world->PeersPending(0ms) || world->AnnouncedRevision() > world->View().revision)
//       TERN_RETURN_IF_ERROR(sync->SafePoint(world.get(), comm.get(), 30s).status());
//     backward(...);
//     tern::StepInfo info{.step = strategy->step()};
//     tern::Status s = strategy->AfterOptimizerStep(info);
//     while (!s.ok()) {
//       if (!retryable(s) || info.attempt >= 10) return s;  // a bug, or a world that never settles
//       TERN_RETURN_IF_ERROR(sync->SafePoint(world.get(), comm.get(), 30s).status());
//       ++info.attempt;
//       s = strategy->AfterOptimizerStep(info);
//     }
//   }
#ifndef TERN_ALGO_SYNC_H_
#define TERN_ALGO_SYNC_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tern/communicator.h"
#include "tern/export.h"
#include "tern/shared_state.h"
#include "tern/strategy.h"
#include "tern/world.h"

namespace tern {

class TERN_EXPORT StrategySync {
 public:
  // REQUIRES: `strategy` attached. `strategy` and `state` must outlive the
  // returned object. Does not communicate.
  // Errors: those of SharedState::Register* (kAlreadyExists for a prefix in
  // use, kInvalidArgument), kFailedPrecondition (strategy not attached).
  static Result<std::unique_ptr<StrategySync>> Create(Strategy* strategy, SharedState* state,
                                                      std::string prefix = "strategy/");
  ~StrategySync();  // unregisters
  StrategySync(const StrategySync&) = delete;
  StrategySync& operator=(const StrategySync&) = delete;

  // One safe point (see above). Every member of the new revision must call
  // it. Blocks up to about four times `timeout` (topology, sync, connect,
  // the donor copy). On error, call it again (the replicated state is not
  // known to be consistent until one succeeds).
  // Errors: those of UpdateTopology, SyncSharedState, Connect,
  // SetReplicatedMetadata and AfterSafePoint.
  Result<SyncReport> SafePoint(World* world, Communicator* comm,
                               std::chrono::milliseconds timeout);

  // SharedState::StateHash over the replicated entries at their current
  // spans (re-registered first, as SafePoint does) and the strategy's
  // current metadata: equal on every member whose replicated state is
  // identical. Local, no communication. Errors: those of re-registering.
  Result<uint64_t> StateHash();

 private:
  StrategySync(Strategy* strategy, SharedState* state, std::string prefix);
  // Re-registers the replicated tensors with their current spans: error
  // feedback may move its committed buffers (ErrorFeedback::Commit swaps
  // whole-tensor buffers), so spans taken at Create can go stale.
  Status Refresh();

  Strategy* strategy_;
  SharedState* state_;
  const std::string prefix_;
  std::vector<std::string> names_;
  std::string metadata_;  // registered; round-trips the strategy's metadata
};

}  // namespace tern

#endif  // TERN_ALGO_SYNC_H_
