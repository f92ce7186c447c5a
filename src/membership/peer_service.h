// PeerService: a peer's server for the shared-state channel (channel 2):
// shared-state fetches from other members and bandwidth probes
// (docs/membership_protocol.md). One accept thread plus one short-lived
// thread per connection (bounded), each authenticated like every other
// link and admitted only if the dialer is a member of this peer's current
// revision. The first frame after the handshake says what the connection
// is for: a FetchRequest goes to the registered fetch handler, probe data
// is counted and acknowledged.
//
// Thread-safety: all methods are thread-safe.
#ifndef TERN_MEMBERSHIP_PEER_SERVICE_H_
#define TERN_MEMBERSHIP_PEER_SERVICE_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "net/blocking.h"
#include "net/handshake.h"
#include "net/tcp.h"
#include "tern/world.h"

namespace tern::membership {

// Serves one fetch connection whose first frame is `request` (a
// FetchRequest frame); returns when done. The connection is closed after.
using FetchHandler = std::function<void(net::Conn& conn, const net::Frame& request,
                                        uint64_t from_peer)>;

class PeerService {
 public:
  // `view` returns this peer's current view (admission and the handshake's
  // revision); `auth` may be null (insecure run).
  PeerService(std::unique_ptr<net::Listener> listener, uint64_t run_id,
              const net::Authenticator* auth, std::function<WorldView()> view);
  ~PeerService();  // stops, closes connections, joins threads

  const std::string& address() const { return listener_->address(); }
  void SetFetchHandler(FetchHandler handler);

 private:
  void AcceptLoop();
  void Serve(std::unique_ptr<net::Conn> conn);
  void ServeProbe(net::Conn& conn, net::Frame first);

  std::unique_ptr<net::Listener> listener_;
  const uint64_t run_id_;
  const net::Authenticator* auth_;
  const std::function<WorldView()> view_;

  std::mutex mu_;
  std::condition_variable cv_;
  FetchHandler fetch_;            // guarded by mu_
  std::set<net::Conn*> active_;   // guarded by mu_
  int threads_ = 0;               // guarded by mu_
  std::atomic<bool> stop_{false};
  std::thread accept_;
};

}  // namespace tern::membership

#endif  // TERN_MEMBERSHIP_PEER_SERVICE_H_
