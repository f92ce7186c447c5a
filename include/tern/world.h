// World: who takes part in a run, in which order, at which revision.
//
// A World is the membership view a Communicator runs over (DESIGN.md,
// "membership"). It names the peers of the current *revision* in rank order,
// each with a stable peer id (never reused in a run, unchanged when ranks
// shift between revisions) and the address of its data-plane listener. The
// application moves to a newer revision only at a safe point, by calling
// UpdateTopology() while no asynchronous operation is outstanding (DESIGN.md
// semantic 5); a Communicator then rebuilds its links (Communicator::Connect).
//
// Two implementations:
//   - StaticWorld (here): a fixed peer list that never changes, built from
//     addresses given by the caller or by a LocalRendezvous (threads of one
//     process, each with a loopback listener on port 0). Used by tests,
//     benchmarks, and launchers that know every peer up front.
//   - the master-backed World (control plane, membership/): revisions, joins
//     at safe points, failure reports that the master confirms.
//
// Thread-safety: every method of World may be called from any thread.
// AnnouncedRevision() is lock-free so an in-flight collective can poll it.
//
// Example (four ranks as threads of a test):
//   tern::LocalRendezvous rdv(4, /*run_id=*/42);
//   // in thread r:
//   TERN_ASSIGN_OR_RETURN(std::unique_ptr<tern::StaticWorld> world,
//                         rdv.Join(r, std::chrono::seconds(10)));
//   TERN_ASSIGN_OR_RETURN(auto comm, tern::Communicator::Create(world.get()));
//   TERN_RETURN_IF_ERROR(comm->AllReduce(tern::TensorView::Of(grad), {}));
#ifndef TERN_WORLD_H_
#define TERN_WORLD_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "tern/export.h"
#include "tern/status.h"

namespace tern {

namespace net {
class Listener;       // src/net/listener.h: a bound, listening TCP socket
class Authenticator;  // src/net/handshake.h: the handshake's auth seam
}  // namespace net

// One member of a revision.
struct PeerInfo {
  // Stable across revisions; never reused within a run. Shared randomness
  // keyed per peer uses it, never the rank (DESIGN.md semantic 6).
  uint64_t peer_id = 0;
  // "host:port" (IPv4 or [IPv6]) of the peer's data-plane listener.
  std::string data_address;
};

// A consistent snapshot of one revision: everything a collective needs.
struct TERN_EXPORT WorldView {
  uint64_t revision = 0;        // 0 = not joined; static worlds use 1
  int rank = -1;                // this process's index in `peers`
  std::vector<PeerInfo> peers;  // rank order

  int size() const { return static_cast<int>(peers.size()); }
  // REQUIRES: 0 <= rank < size().
  const PeerInfo& self() const { return peers[static_cast<size_t>(rank)]; }
  // The rank of a stable peer id in this revision, or -1 if absent.
  int RankOf(uint64_t peer_id) const;
};

class TERN_EXPORT World {
 public:
  virtual ~World() = default;

  // The run this world belongs to; the data-plane handshake refuses peers of
  // another run. Constant.
  virtual uint64_t run_id() const = 0;

  // The current revision (the one the last UpdateTopology adopted). Does not
  // block beyond a mutex; returns a copy the caller owns.
  virtual WorldView View() const = 0;

  // The newest revision the master has announced, >= View().revision.
  // Greater means the current revision is being replaced: in-flight
  // collectives stop with kAborted (their buffers restored) and the caller
  // should reach a safe point and call UpdateTopology(). Lock-free, never
  // blocks; meant to be polled from inside collectives.
  virtual uint64_t AnnouncedRevision() const = 0;

  // True if peers wait to be admitted at the next UpdateTopology(), so the
  // application can skip the safe point when nobody waits (PCCL's
  // arePeersPending). May ask the master: blocks up to `timeout`.
  // Errors: kDeadlineExceeded, kUnavailable (master unreachable).
  virtual Result<bool> PeersPending(std::chrono::milliseconds timeout) = 0;

  // The safe point (DESIGN.md semantic 5). REQUIRES: no asynchronous
  // operation of any Communicator over this world is outstanding. Adopts the
  // newest revision (admitting pending peers, dropping failed ones); blocks
  // until every member of it agrees or `timeout` passes. Afterwards call
  // Communicator::Connect (collectives also reconnect on their own).
  // Errors: kDeadlineExceeded, kUnavailable (master unreachable),
  // kPermissionDenied (this peer was expelled). A static world returns OK
  // and adopts an announced revision (same peers) if there is one.
  virtual Status UpdateTopology(std::chrono::milliseconds timeout) = 0;

  // A collective failed; `peer_id` is the peer it blames (connection
  // closed, or its deadline passed while waiting on it), 0 if none (e.g. a
  // corrupt frame). Communicators call it for every failure except kAborted.
  // A hint, not a verdict: the master confirms (a ping) before it drops a
  // peer; either way it announces a new revision so that every member's
  // in-flight collective aborts. Never blocks for long; thread-safe.
  virtual void ReportPeerFailure(uint64_t peer_id, const Status& cause) = 0;

  // --- For the Communicator (library-internal types; users do not call) ---

  // The listener at View().self().data_address, owned by the world and
  // alive as long as it. At most one Communicator per World uses it.
  virtual net::Listener& DataListener() = 0;
  // Authenticates data-plane handshakes (run secret, TLS); null = none.
  // The control plane overrides it (docs/wire_format.md, "Handshake").
  virtual const net::Authenticator* DataAuthenticator() const { return nullptr; }
};

struct StaticWorldOptions {
  uint64_t run_id = 0;
  std::vector<PeerInfo> peers;  // rank order; peer ids distinct
  int rank = -1;                // this process's index in `peers`
  // A socket already bound to peers[rank].data_address and listening (for
  // example created before fork(), so tests can use port 0 without races);
  // the world takes ownership. -1: bind and listen on peers[rank].data_address.
  int listen_fd = -1;
};

// A fixed peer list: revision 1 forever, unless a test announces another.
class TERN_EXPORT StaticWorld : public World {
 public:
  // Binds the listener (or adopts listen_fd). Does not block.
  // Errors: kInvalidArgument (bad rank, duplicate peer ids, malformed
  // address), kUnavailable (bind/listen failed; message names the syscall).
  static Result<std::unique_ptr<StaticWorld>> Create(StaticWorldOptions options);
  ~StaticWorld() override;

  uint64_t run_id() const override { return run_id_; }
  WorldView View() const override;
  uint64_t AnnouncedRevision() const override { return announced_.load(); }
  Result<bool> PeersPending(std::chrono::milliseconds) override { return false; }
  Status UpdateTopology(std::chrono::milliseconds timeout) override;
  void ReportPeerFailure(uint64_t peer_id, const Status& cause) override;
  net::Listener& DataListener() override { return *listener_; }

  // Test hook standing in for the master: announces revision `revision`
  // (> the current one) with the same peers, so in-flight collectives abort
  // with kAborted and the next UpdateTopology() adopts it.
  void AnnounceRevision(uint64_t revision);
  // Every ReportPeerFailure so far, oldest first (for tests).
  std::vector<std::pair<uint64_t, Status>> ReportedFailures() const;

 private:
  StaticWorld(uint64_t run_id, WorldView view, std::unique_ptr<net::Listener> listener);

  const uint64_t run_id_;
  mutable std::mutex mu_;
  WorldView view_;  // guarded by mu_
  std::vector<std::pair<uint64_t, Status>> failures_;  // guarded by mu_
  std::atomic<uint64_t> announced_;
  std::unique_ptr<net::Listener> listener_;
};

// Builds StaticWorlds for `size` ranks that are threads of one process: each
// Join binds a loopback listener on port 0, publishes its address, and waits
// for the others. Peer ids are rank + 1. Thread-safe; the rendezvous must
// outlive the Join calls (not the worlds).
class TERN_EXPORT LocalRendezvous {
 public:
  LocalRendezvous(int size, uint64_t run_id);
  ~LocalRendezvous();

  // Blocks until all ranks joined or `timeout` passes. Each rank joins once.
  // Errors: kInvalidArgument (rank out of range or joined twice),
  // kDeadlineExceeded, kUnavailable (bind failed).
  Result<std::unique_ptr<StaticWorld>> Join(int rank, std::chrono::milliseconds timeout);

 private:
  const int size_;
  const uint64_t run_id_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> addresses_;  // guarded by mu_; empty = not joined
  int joined_ = 0;                      // guarded by mu_
};

}  // namespace tern

#endif  // TERN_WORLD_H_
