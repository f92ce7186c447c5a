// The control plane: a master that decides who is in a run, and the
// master-backed World that peers use (DESIGN.md, "membership"; the protocol
// in prose is docs/membership_protocol.md).
//
// A Master tracks the members of one run and numbers each membership (a
// *revision*). It admits new peers only when members reach a safe point
// (World::UpdateTopology), drops peers that leave, close their connection or
// miss heartbeats, and coordinates shared-state sync (tern/shared_state.h)
// and ring ordering. It does not take part in collectives: those run
// directly between peers. A master can run as its own process
// (`tern master --listen HOST:PORT --secret-file F [--state-dir D]`) or
// embedded in a process (Master::StartLocal, the default for local runs).
//
// MasterWorld is a World backed by such a master. Every connection it opens
// (to the master, to peers for collectives and state transfers) proves
// knowledge of the run secret with an HMAC-SHA256 challenge-response bound
// to the handshake, optionally inside TLS 1.3.
//
// Lifecycle of a peer:
//   Connect (registered, pending: View().revision == 0)
//     -> UpdateTopology (admitted in a revision; blocks until the members of
//        that revision all reached their safe point)
//     -> SharedState::SyncSharedState (a joiner receives the replicated state)
//     -> collectives ... [a collective fails with kUnavailable/kAborted]
//     -> UpdateTopology -> SyncSharedState -> retry ...
//     -> Leave (or the destructor, or dying: detected by the master)
//
// Joins, failures and revisions (what the master guarantees):
//   - A failed member (closed control connection, heartbeats missed for
//     `heartbeat_timeout`, explicit Leave, or a failure report from another
//     member that the master confirms by an unanswered ping) is dropped at
//     once: the master announces revision R+1 without it, so in-flight
//     collectives see AnnouncedRevision() > View().revision and abort with
//     kAborted. Peers waiting to join are admitted in that same revision.
//   - A pending joiner is admitted when any member calls UpdateTopology()
//     while PeersPending() is true: the master announces R+1 = members +
//     joiners. Members that were still inside a collective then abort it
//     (kAborted) and reach their own UpdateTopology; so a member that
//     skipped the safe point because it had not seen the joiner yet costs
//     one retried collective, never a deadlock.
//   - UpdateTopology() adopts the newest announced revision and returns
//     when every member of it has adopted it too (a barrier through the
//     master). If nothing is announced, nobody is pending and no failure was
//     reported, it returns OK at once without talking to the master.
//   - Stable peer ids are assigned by the master, increase, and are never
//     reused within a run, also across master restarts (peers report the
//     highest id they have seen when they re-register).
//   - The master is not a single point of failure for data: if it dies,
//     collectives keep running on the current revision; each MasterWorld
//     reconnects in the background and re-registers with its peer id and
//     revision. A restarted master (with or without --state-dir) resumes the
//     revision numbering; if every member of the last revision comes back
//     it keeps that revision unchanged, otherwise it forms a new one.
//
// Thread-safety: Master is thread-safe. MasterWorld is thread-safe (World's
// contract); UpdateTopology, OptimizeTopology and Leave must not run
// concurrently with each other.
//
// Example (a local run: embedded master plus four ranks as threads):
//   TERN_ASSIGN_OR_RETURN(auto master, tern::Master::StartLocal(/*run_id=*/7,
//                                                               /*min_peers=*/4));
//   tern::MasterWorldOptions opts = master->PeerOptions();
//   // in each rank's thread (or process, given opts' address and secret):
//   TERN_ASSIGN_OR_RETURN(auto world, tern::MasterWorld::Join(opts, 30s));
//   TERN_ASSIGN_OR_RETURN(auto comm, tern::Communicator::Create(world.get()));
//   // ... a SharedState `state` with the replicated tensors registered ...
//   bool need_update = false;
//   while (step < steps) {  // the recovery loop of docs/error_model.md
//     if (need_update || *world->PeersPending(0ms) ||
//         world->AnnouncedRevision() > world->View().revision) {
//       if (!world->UpdateTopology(30s).ok()) continue;
//       need_update = false;
//     }
//     if (!state->SyncSharedState(30s).ok()) { need_update = true; continue; }
//     if (!comm->AllReduce(grad, {}).ok()) { need_update = true; continue; }
//     ...apply the step...
//   }
#ifndef TERN_MASTER_H_
#define TERN_MASTER_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tern/export.h"
#include "tern/status.h"
#include "tern/world.h"

namespace tern {

// --- Secrets -----------------------------------------------------------------

// 32 random bytes from the OS (RAND_bytes), hex-encoded (64 characters).
// Local runs generate one per run. Errors: kInternal if the RNG fails.
TERN_EXPORT Result<std::string> GenerateSecret();

// Reads a secret file: its content with trailing whitespace removed.
// Errors: kNotFound / kPermissionDenied (cannot open), kInvalidArgument
// (empty, or shorter than 16 bytes, or larger than 4 KiB).
TERN_EXPORT Result<std::string> ReadSecretFile(const std::string& path);

// --- Connecting a peer ------------------------------------------------------

struct MasterWorldOptions {
  std::string master_address;  // "host:port"
  uint64_t run_id = 0;
  std::string secret;          // empty only if the master runs --insecure
  bool tls = false;            // TLS 1.3 on every link (control and data)
  // Where this peer's listeners bind (data plane and shared-state server);
  // port 0 picks free ports. `advertise_host`, if set, replaces the host
  // part in the addresses other peers dial (e.g. when binding 0.0.0.0).
  std::string listen_host = "127.0.0.1";
  std::string advertise_host;
  // 0: a new peer (the master assigns an id). Nonzero: resume as that
  // peer (used internally on re-registration; a fresh process should pass 0).
  uint64_t peer_id = 0;
  // How long Connect (and background reconnects) wait for the master per
  // attempt; reconnects back off up to this.
  std::chrono::milliseconds connect_timeout{10000};
};

// --- Master ------------------------------------------------------------------

struct MasterOptions {
  // "host:port" to listen on; port 0 picks a free one (see Master::address).
  std::string listen_address = "127.0.0.1:0";
  // A socket already bound and listening (inherited from a launcher that
  // keeps it across master restarts, so the address never changes and
  // peers reconnect into its backlog); the master takes ownership and
  // ignores listen_address. -1: bind listen_address.
  int listen_fd = -1;
  // The run this master serves; peers of another run are refused. With a
  // state dir that already holds a run, must match it (or be 0 = adopt it).
  uint64_t run_id = 1;
  // The run secret every peer must prove it knows. Empty is refused with
  // kInvalidArgument unless `insecure` (then the run id is the only
  // credential: tests on loopback only).
  std::string secret;
  bool insecure = false;
  // Wrap every control connection in TLS 1.3 (peers must set tls too).
  bool tls = false;
  // If set, the master's view (run id, revision, members, next peer id) is
  // persisted there atomically at every change and reloaded at start.
  std::string state_dir;
  // Peers send a heartbeat every interval; a member silent for `timeout` is
  // dropped. The master tells each peer these values when it registers.
  std::chrono::milliseconds heartbeat_interval{500};
  std::chrono::milliseconds heartbeat_timeout{3000};
  // The first revision of a run forms only once this many peers wait to
  // join (so N ranks started together begin in one revision). Later
  // revisions admit any number.
  int min_peers = 1;
  // A master cannot tell a restart without --state-dir from the start of a
  // new run, so by default it first waits this long for members of an
  // earlier revision to re-register (they bring the revision, member list
  // and highest peer id) before forming revisions from new peers. With a
  // state dir it waits only if the state file held a revision. 0 means
  // heartbeat_timeout. `fresh_run` skips the wait when the caller knows no
  // earlier master existed (local runs: StartLocal sets it).
  std::chrono::milliseconds recovery_window{0};
  bool fresh_run = false;
  // Refuse more than this many concurrent peers (registered or pending).
  int max_peers = 1024;
};

// What the master currently knows; for tools and tests.
struct MasterSnapshot {
  uint64_t run_id = 0;
  uint64_t revision = 0;           // the newest revision (announced or committed)
  bool committed = false;          // every member has adopted `revision`
  std::vector<PeerInfo> members;   // of `revision`, ring order
  std::vector<uint64_t> pending;   // registered peer ids waiting to join
  uint64_t next_peer_id = 1;
  uint64_t revisions_formed = 0;   // since this process started
  uint64_t peers_dropped = 0;      // since this process started
  uint64_t auth_failures = 0;      // refused handshakes (bad secret, run, frames)
  uint64_t sync_rounds = 0;        // completed shared-state syncs
};

class TERN_EXPORT Master {
 public:
  // Binds, loads the state dir if any, and starts serving on background
  // threads. Does not block beyond that.
  // Errors: kInvalidArgument (no secret without insecure, bad options,
  // malformed address), kUnavailable (bind failed), kFailedPrecondition
  // (the state dir holds another run id), kDataLoss (corrupt state file).
  static Result<std::unique_ptr<Master>> Start(MasterOptions options);

  // An in-process master for a local run: 127.0.0.1:0, a fresh secret.
  static Result<std::unique_ptr<Master>> StartLocal(uint64_t run_id, int min_peers = 1);

  // Stops serving and closes every connection (peers see the master vanish
  // and keep reconnecting). Blocks until the threads exit.
  ~Master();
  Master(const Master&) = delete;
  Master& operator=(const Master&) = delete;

  // "127.0.0.1:41234": the bound address with the real port.
  const std::string& address() const;
  uint64_t run_id() const;

  // Options a peer needs to join this master's run: address, run id,
  // secret, TLS flag; everything else at its default.
  MasterWorldOptions PeerOptions() const;

  MasterSnapshot Snapshot() const;

  // Blocks until the master's revision is at least `revision` and
  // committed, or `timeout` passes (false). For tests and tools.
  bool WaitForRevision(uint64_t revision, std::chrono::milliseconds timeout) const;

  class Impl;

 private:
  explicit Master(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// --- The master-backed World ---------------------------------------------------

// One row of a bandwidth measurement: from -> to, in megabits per second.
struct LinkBandwidth {
  uint64_t from_peer = 0;
  uint64_t to_peer = 0;
  double mbps = 0;
};

struct TopologyReport {
  uint64_t revision = 0;              // the revision with the new ring order
  std::vector<uint64_t> ring;         // peer ids in ring order
  double bottleneck_mbps = 0;         // slowest link of `ring`
  double previous_bottleneck_mbps = 0;  // of the ring before
  std::vector<LinkBandwidth> links;   // every measured directed pair
  bool exact = false;                 // optimum proven (small worlds) or heuristic
};

class TERN_EXPORT MasterWorld : public World {
 public:
  // Dials the master, authenticates (HMAC over the handshake, TLS if set),
  // binds this peer's listeners and registers. Returns once registered; the
  // peer is then *pending* (View().revision == 0) until an UpdateTopology()
  // admits it. Blocks up to `timeout`.
  // Errors: kPermissionDenied (wrong secret: the message says so; the
  // master logs it too), kFailedPrecondition (wrong run id, protocol
  // version, or the master is full), kUnavailable (master unreachable),
  // kDeadlineExceeded, kInvalidArgument (bad options).
  static Result<std::unique_ptr<MasterWorld>> Connect(MasterWorldOptions options,
                                                      std::chrono::milliseconds timeout);
  // Connect, then UpdateTopology until admitted. Same errors.
  static Result<std::unique_ptr<MasterWorld>> Join(MasterWorldOptions options,
                                                   std::chrono::milliseconds timeout);

  // Leaves (best effort, short deadline) and stops the background thread.
  ~MasterWorld() override;

  // This peer's stable id (assigned at Connect; kept across master restarts).
  uint64_t peer_id() const;

  // --- World ---
  uint64_t run_id() const override;
  WorldView View() const override;
  uint64_t AnnouncedRevision() const override;
  // True if peers wait (in their own UpdateTopology) to be admitted.
  // Answered locally from what the master pushes (no round trip), so it is
  // cheap to call every step; `timeout` is unused. kUnavailable only before
  // the first registration completed. A joiner that registered a moment ago
  // may not be visible yet: see "Joins" above for why that is harmless.
  Result<bool> PeersPending(std::chrono::milliseconds timeout) override;
  // See "Joins, failures and revisions" above. For a pending peer, waits
  // until it is admitted. A peer the master dropped while it was alive
  // (e.g. its heartbeats were lost for longer than the timeout) reconnects
  // by itself as a pending peer with its old id; its UpdateTopology waits
  // until a later revision readmits it (it then receives the replicated
  // state as a joiner). Errors: kDeadlineExceeded, kUnavailable (master
  // unreachable at the deadline), kFailedPrecondition (after Leave).
  Status UpdateTopology(std::chrono::milliseconds timeout) override;
  // Forwards the suspicion to the master (non-blocking), which pings the
  // suspect: no answer within min(1 s, heartbeat timeout), or a second
  // report in the same revision, drops it. The next UpdateTopology waits
  // for that verdict.
  void ReportPeerFailure(uint64_t peer_id, const Status& cause) override;
  net::Listener& DataListener() override;
  const net::Authenticator* DataAuthenticator() const override;

  // --- Control plane extras ---

  // True while the control connection to the master is up.
  bool MasterConnected() const;

  // Leaves the run explicitly: the master drops this peer at once and
  // announces a new revision to the others. Afterwards every call fails
  // with kFailedPrecondition. Blocks up to `timeout` for the master's
  // acknowledgement. Errors: kDeadlineExceeded, kUnavailable.
  Status Leave(std::chrono::milliseconds timeout);

  // A safe point that reorders the ring: every member calls it (like a
  // collective); each measures its bandwidth to every other member, the
  // master picks the ring order that maximizes the slowest link and
  // announces it as a new revision, which this call adopts (as
  // UpdateTopology). `probe_bytes` per directed pair.
  // Errors: those of UpdateTopology, kAborted (membership changed meanwhile:
  // call UpdateTopology and retry).
  Result<TopologyReport> OptimizeTopology(std::chrono::milliseconds timeout,
                                          size_t probe_bytes = size_t{4} << 20);

  class Impl;
  // Library-internal (SharedState uses it).
  Impl& impl() { return *impl_; }

 private:
  explicit MasterWorld(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern

#endif  // TERN_MASTER_H_
