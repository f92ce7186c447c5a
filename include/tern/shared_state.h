// Shared state: the replicated part of a run's state, kept bit-identical on
// every peer (DESIGN.md semantic 4; protocol in docs/membership_protocol.md,
// "Shared-state sync").
//
// The application registers, by name, views of its own buffers that must be
// the same on every peer: the global (outer) parameters, the outer
// optimizer's state, codec state that error feedback replicates
// (ErrorFeedback::State buffers with `replicated` set), plus small metadata
// (a step counter, a serialized optimizer config). Per-peer state (local
// parameters, inner optimizer state, residuals) stays out.
//
// SyncSharedState() at a safe point makes all members agree:
//   1. every member hashes each entry (xxh3-64 of its bytes) and sends the
//      list to the master;
//   2. the master elects, per entry, the content held by the most members
//      (ties: the content of the lowest stable peer id). A peer whose state
//      has never been synced (a joiner) does not vote unless every member is
//      in that situation (the first sync of a run);
//   3. each member whose entry differs fetches it directly from a peer that
//      holds the elected content (an authenticated state channel between the
//      peers, never through the master), checks its hash, then copies it into
//      the application's buffer;
//   4. every member reports its hashes again and the master confirms that
//      all equal the elected ones. Only then does the call return OK.
// A healthy step (every member already identical) moves 0 state bytes: the
// report says so. A joiner receives every entry before its first collective
// if it calls SyncSharedState right after UpdateTopology admitted it (the
// members call it at the same point).
//
// Contract with the application:
//   - Every member of the current revision calls SyncSharedState at the same
//     safe point (no asynchronous operation outstanding), with the same set of
//     entry names and, for tensors, the same dtype and numel. A mismatch is
//     kInvalidArgument on every member.
//   - While the call runs the registered buffers must not be touched (other
//     peers may be reading them to fetch the elected content).
//   - A call that fails may have overwritten some entries with the elected
//     content but not others: the replicated state is then not known to be
//     consistent; call UpdateTopology() and SyncSharedState() again before
//     the next collective.
//
// Thread-safety: Register*/Unregister and SyncSharedState must not run
// concurrently with each other (one application thread). Hashes() and
// StateHash() may be called from any thread when no sync runs.
//
// Example:
//   TERN_ASSIGN_OR_RETURN(auto state, tern::SharedState::Create(world.get()));
//   TERN_RETURN_IF_ERROR(state->RegisterTensor("outer/params", tern::TensorView::Of(params)));
//   TERN_RETURN_IF_ERROR(state->RegisterTensor("outer/momentum", tern::TensorView::Of(mom)));
//   TERN_RETURN_IF_ERROR(state->RegisterU64("step", &step));
//   ...
//   TERN_RETURN_IF_ERROR(world->UpdateTopology(30s));
//   TERN_ASSIGN_OR_RETURN(tern::SyncReport r, state->SyncSharedState(30s));
//   // r.bytes_received == 0 and r.fixed.empty() on a healthy step
#ifndef TERN_SHARED_STATE_H_
#define TERN_SHARED_STATE_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tern/export.h"
#include "tern/master.h"
#include "tern/status.h"
#include "tern/tensor.h"

namespace tern {

struct SharedStateOptions {
  // Payload of one transfer frame between peers.
  size_t chunk_bytes = size_t{1} << 20;
  // Entry names: 1..kMaxNameBytes bytes; at most kMaxEntries entries.
  static constexpr size_t kMaxNameBytes = 256;
  static constexpr size_t kMaxEntries = 65536;
};

// What one SyncSharedState() did on this peer.
struct SyncReport {
  uint64_t revision = 0;      // the revision the sync ran on
  uint64_t round = 0;         // the master's sync round number (equal on all members)
  // State bytes moved over peer-to-peer state channels by this peer
  // (payload plus frame headers; control messages to the master excluded).
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  // Entries this peer overwrote because they differed from the elected
  // content, in name order. Empty on a healthy step.
  std::vector<std::string> fixed;
  // Entries this peer sent to others.
  uint64_t entries_served = 0;
  // True if this peer did not vote (it had never synced and others had).
  bool receive_only = false;
  // xxh3 over every (name, entry hash) in name order: equal on every member
  // after an OK sync, so a test or log can compare peers cheaply.
  uint64_t state_hash = 0;
  double seconds = 0;
};

struct EntryHash {
  std::string name;
  uint64_t hash = 0;   // xxh3-64 of the entry's bytes
  uint64_t nbytes = 0;
};

class TERN_EXPORT SharedState {
 public:
  // `world` must outlive the SharedState; at most one SharedState per world.
  // Starts the state server (it binds a listener on the world's listen host
  // and serves fetches only during a sync round). Does not block.
  // Errors: kUnavailable (bind failed), kInvalidArgument (options).
  static Result<std::unique_ptr<SharedState>> Create(MasterWorld* world,
                                                     SharedStateOptions options = {});
  ~SharedState();
  SharedState(const SharedState&) = delete;
  SharedState& operator=(const SharedState&) = delete;

  // Registers a view of the caller's tensor (any dtype; fp32 usually). The
  // caller keeps ownership; the memory must stay valid until Unregister or
  // destruction. Errors: kInvalidArgument (bad or empty name, null data,
  // too many entries), kAlreadyExists (name taken).
  Status RegisterTensor(std::string_view name, TensorView view);
  // Registers a byte string the sync may resize (metadata, a serialized
  // optimizer config). A fetched value longer than max_bytes is refused
  // (kDataLoss), bounding the allocation. Same errors as RegisterTensor.
  Status RegisterBytes(std::string_view name, std::string* bytes, size_t max_bytes);
  // Registers a counter (the step), stored little-endian in the hash.
  Status RegisterU64(std::string_view name, uint64_t* value);
  // kNotFound if the name is not registered.
  Status Unregister(std::string_view name);

  // The sync described above. REQUIRES: a safe point; this peer is a member
  // of the world's current revision (UpdateTopology admitted it). Blocks
  // until every member of the revision has synced, or `timeout` passes.
  // Errors: kAborted (the master announced a new revision, or a member
  // failed mid-round: call UpdateTopology and retry), kUnavailable (master
  // or donor connection lost), kDeadlineExceeded (some member did not reach
  // the safe point in time), kInvalidArgument (members registered different
  // entries), kDataLoss (a fetched entry's hash did not match, or the final
  // check found a peer still different: never passed silently),
  // kFailedPrecondition (not a member).
  Result<SyncReport> SyncSharedState(std::chrono::milliseconds timeout);

  // Local hashes of every entry, in name order. No communication.
  std::vector<EntryHash> Hashes() const;
  // The combined hash SyncReport::state_hash would carry now.
  uint64_t StateHash() const;
  // True once a sync has completed on this peer (it then votes).
  bool synced() const;

  class Impl;

 private:
  explicit SharedState(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern

#endif  // TERN_SHARED_STATE_H_
