// ControlClient: a peer's connection to the master, kept alive by one
// background thread (docs/membership_protocol.md, "Peer side").
//
// The thread dials the master, runs the authenticated handshake, registers
// (the Register message comes from a callback, so a re-registration after
// a lost connection carries the peer's current revision and id), sends a
// heartbeat every interval, answers pings at once, and hands every other
// message to a callback. If the master goes silent for the heartbeat
// timeout or the connection breaks, it reconnects with backoff, forever,
// until stopped: the master is not a single point of failure.
//
// Each successful registration increments epoch(); callers that sent a
// request resend it when the epoch changes (requests are lost with the
// connection).
//
// Thread-safety: all methods are thread-safe. Callbacks run on the
// client's thread, one at a time.
#ifndef TERN_MEMBERSHIP_CONTROL_CLIENT_H_
#define TERN_MEMBERSHIP_CONTROL_CLIENT_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "membership/auth.h"
#include "membership/framed_conn.h"
#include "membership/proto/control.pb.h"
#include "tern/status.h"
#include "util/clock.h"

namespace tern::membership {

struct ControlClientOptions {
  std::string master_address;
  uint64_t run_id = 0;
  const net::Authenticator* auth = nullptr;  // not owned; null: insecure run
  uint64_t peer_id = 0;  // resume as this peer (0: the master assigns one)
  std::chrono::milliseconds connect_timeout{10000};
};

struct ControlCallbacks {
  // Builds the Register message for a (re)connection.
  std::function<proto::Register()> make_register;
  // Every message except heartbeat acks and pings.
  std::function<void(const proto::MasterToPeer&)> on_message;
  // The connection came up (after RegisterAck) or went down.
  std::function<void(bool up)> on_connection;
};

class ControlClient {
 public:
  ControlClient(ControlClientOptions options, ControlCallbacks callbacks);
  ~ControlClient();  // Stop()

  // Connects and registers before `deadline`, then keeps the connection in
  // the background. Errors: kPermissionDenied (secret), kFailedPrecondition
  // (wrong run, refused by the master), kUnavailable / kDeadlineExceeded
  // (no master answered in time).
  Status Start(Deadline deadline);
  void Stop();

  // Queues a message for the master; dropped if the connection is down
  // (the caller resends on a new epoch).
  void Send(const proto::PeerToMaster& m);

  bool connected() const { return connected_.load(); }
  uint64_t epoch() const { return epoch_.load(); }
  uint64_t peer_id() const { return peer_id_.load(); }

 private:
  Status ConnectOnce(Deadline deadline);
  void Run();
  // Serves the connection until it fails or Stop(); returns why it ended.
  Status Serve();
  Status Dispatch(const net::Frame& f);
  void Wake();

  const ControlClientOptions options_;
  const ControlCallbacks callbacks_;

  std::mutex mu_;
  std::vector<std::string> outbox_;  // serialized PeerToMaster, guarded by mu_
  std::unique_ptr<FramedConn> conn_;  // owned by the client thread after Start
  int64_t heartbeat_interval_ms_ = 500;
  int64_t heartbeat_timeout_ms_ = 3000;
  int64_t last_heard_ms_ = 0;
  bool registered_ = false;
  Status refused_;

  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> epoch_{0};
  std::atomic<uint64_t> peer_id_{0};
  std::atomic<bool> stop_{false};
  int wake_fd_ = -1;
  std::thread thread_;
};

}  // namespace tern::membership

#endif  // TERN_MEMBERSHIP_CONTROL_CLIENT_H_
