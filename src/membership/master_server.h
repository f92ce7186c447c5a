// The master's I/O: one event-loop thread that owns every authenticated
// peer connection and drives MasterCore, plus short-lived threads that run
// handshakes (a slow or hostile client can only hold its own thread, for
// at most kHandshakeMillis) and liveness probes of members missing after a
// restart. Persists the core's view before sending what changed it.
//
// Thread-safety: Snapshot() and WaitForRevision() from any thread.
#ifndef TERN_MEMBERSHIP_MASTER_SERVER_H_
#define TERN_MEMBERSHIP_MASTER_SERVER_H_

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "membership/auth.h"
#include "membership/framed_conn.h"
#include "membership/master_core.h"
#include "membership/master_store.h"
#include "net/tcp.h"
#include "tern/master.h"

namespace tern {

class Master::Impl {
 public:
  static Result<std::unique_ptr<Impl>> Start(MasterOptions options);
  ~Impl();

  const std::string& address() const { return listener_->address(); }
  uint64_t run_id() const { return options_.run_id; }
  const MasterOptions& options() const { return options_; }
  MasterSnapshot Snapshot() const;
  bool WaitForRevision(uint64_t revision, std::chrono::milliseconds timeout) const;

 private:
  Impl(MasterOptions options, std::unique_ptr<net::Listener> listener,
       std::optional<membership::MasterStore> store,
       std::unique_ptr<membership::RunAuthenticator> auth,
       std::optional<membership::proto::MasterState> loaded, bool restarted);

  void Loop();
  void AcceptAll();
  void Handshake(std::unique_ptr<net::Conn> conn);
  void AdoptHandshaken();
  void StartProbe(membership::Outbox::Probe probe);
  void TakeProbeResults(int64_t now, membership::Outbox* out);
  void ServeConn(uint64_t id, membership::FramedConn& conn, int64_t now,
                 membership::Outbox* out);
  void Apply(membership::Outbox& out);
  void CloseConn(uint64_t id, int64_t now, membership::Outbox* out);
  void Wake();

  const MasterOptions options_;
  std::unique_ptr<net::Listener> listener_;
  std::optional<membership::MasterStore> store_;
  std::unique_ptr<membership::RunAuthenticator> auth_;  // null: --insecure

  mutable std::mutex mu_;  // guards core_ reads from other threads, and the fields below
  mutable std::condition_variable cv_;
  membership::MasterCore core_;
  std::vector<std::unique_ptr<net::Conn>> handshaken_;  // waiting for the loop
  std::set<net::Conn*> handshaking_;                    // in flight (closed on stop)
  int handshake_threads_ = 0;
  int probe_threads_ = 0;
  std::vector<std::pair<uint64_t, bool>> probe_results_;  // (peer, refused)
  uint64_t auth_failures_ = 0;

  // Owned by the loop thread.
  std::map<uint64_t, std::unique_ptr<membership::FramedConn>> conns_;
  uint64_t next_conn_ = 1;

  int wake_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread loop_;
};

}  // namespace tern

#endif  // TERN_MEMBERSHIP_MASTER_SERVER_H_
