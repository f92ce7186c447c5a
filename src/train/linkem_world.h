// LinkemWorld: a World whose data-plane traffic crosses emulated WAN links
// (`tern train --link-rate-mbit R --link-delay-ms D`).
//
// It wraps the run's real World and hands the Communicator a view in which
// every other peer's data address is replaced by a local link-emulator
// proxy (net/linkem.h) that forwards to the real address. Since the lower
// rank of a pair dials the higher one, every collective's byte crosses
// exactly one proxy: each pair of workers is joined by its own emulated
// link, R Mbit/s in each direction with D ms of one-way delay. Nothing has
// to be advertised differently, so the same code works on one host and on
// many. Not emulated: packet loss and TCP's own congestion window (a proxy
// terminates TCP); the shared-state channel (joins, repairs) and the
// control plane bypass the proxies.
//
//   TERN_ASSIGN_OR_RETURN(auto w, LinkemWorld::Create(master_world.get(), {100, 20}));
//   TERN_ASSIGN_OR_RETURN(auto comm, Communicator::Create(w.get()));
//
// Thread-safety: as World (every method from any thread).
#ifndef TERN_TRAIN_LINKEM_WORLD_H_
#define TERN_TRAIN_LINKEM_WORLD_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "net/linkem.h"
#include "tern/world.h"

namespace tern::train {

struct LinkSpec {
  double rate_mbit = 0;  // per direction; 0 = unlimited
  double delay_ms = 0;   // one way
};

class LinkemWorld : public World {
 public:
  // `inner` is not owned and must outlive this world. Starts proxies for the
  // peers of inner->View() (none while pending). kUnavailable if a proxy
  // cannot bind.
  static Result<std::unique_ptr<LinkemWorld>> Create(World* inner, LinkSpec link);
  ~LinkemWorld() override;

  uint64_t run_id() const override { return inner_->run_id(); }
  // inner's view with other peers' data addresses replaced by their proxies.
  WorldView View() const override;
  uint64_t AnnouncedRevision() const override { return inner_->AnnouncedRevision(); }
  Result<bool> PeersPending(std::chrono::milliseconds timeout) override {
    return inner_->PeersPending(timeout);
  }
  // inner's UpdateTopology, then proxies for new peers, and the proxies of
  // peers no longer in the view (departed, or back at a new address) are
  // stopped: no collective runs across an UpdateTopology, and a long run
  // with churn would otherwise keep a thread and a listener per departed
  // peer. kUnavailable if a proxy cannot bind; otherwise inner's codes.
  Status UpdateTopology(std::chrono::milliseconds timeout) override;
  void ReportPeerFailure(uint64_t peer_id, const Status& cause) override {
    inner_->ReportPeerFailure(peer_id, cause);
  }
  net::Listener& DataListener() override { return inner_->DataListener(); }
  const net::Authenticator* DataAuthenticator() const override {
    return inner_->DataAuthenticator();
  }

  // Bytes the proxies forwarded so far (both directions, all peers, the
  // stopped proxies' included).
  uint64_t forwarded_bytes() const;
  // Proxies running now (one per other peer of the current view).
  size_t proxy_count() const;

 private:
  LinkemWorld(World* inner, LinkSpec link) : inner_(inner), link_(link) {}
  // Starts missing proxies for `view`. REQUIRES: mu_ held.
  Status EnsureProxies(const WorldView& view) const;
  // Removes the proxies of peers not in `view` and returns them, still
  // running (the caller stops them without holding mu_). REQUIRES: mu_ held.
  std::vector<std::unique_ptr<net::Linkem>> TakeDeparted(const WorldView& view);

  World* const inner_;
  const LinkSpec link_;
  mutable std::mutex mu_;
  // (peer id, real data address) -> its proxy; guarded by mu_.
  mutable std::map<std::pair<uint64_t, std::string>, std::unique_ptr<net::Linkem>> proxies_;
  uint64_t pruned_bytes_ = 0;  // forwarded by proxies since stopped; guarded by mu_
};

}  // namespace tern::train

#endif  // TERN_TRAIN_LINKEM_WORLD_H_
