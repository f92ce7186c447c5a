// StaticWorld and LocalRendezvous (tern/world.h): a fixed peer list.
#include <set>

#include "net/tcp.h"
#include "tern/world.h"

namespace tern {

int WorldView::RankOf(uint64_t peer_id) const {
  for (size_t i = 0; i < peers.size(); ++i) {
    if (peers[i].peer_id == peer_id) return static_cast<int>(i);
  }
  return -1;
}

StaticWorld::StaticWorld(uint64_t run_id, WorldView view, std::unique_ptr<net::Listener> listener)
    : run_id_(run_id), view_(std::move(view)), announced_(1), listener_(std::move(listener)) {}

StaticWorld::~StaticWorld() = default;

Result<std::unique_ptr<StaticWorld>> StaticWorld::Create(StaticWorldOptions o) {
  const int n = static_cast<int>(o.peers.size());
  if (o.rank < 0 || o.rank >= n) {
    return InvalidArgumentError("static world: rank " + std::to_string(o.rank) +
                                " outside [0, " + std::to_string(n) + ")");
  }
  std::set<uint64_t> ids;
  for (const PeerInfo& p : o.peers) {
    if (!ids.insert(p.peer_id).second) {
      return InvalidArgumentError("static world: duplicate peer id " + std::to_string(p.peer_id));
    }
    TERN_RETURN_IF_ERROR(net::ParseAddress(p.data_address).status());
  }
  std::unique_ptr<net::Listener> listener;
  if (o.listen_fd >= 0) {
    TERN_ASSIGN_OR_RETURN(listener, net::Listener::Adopt(o.listen_fd));
  } else {
    TERN_ASSIGN_OR_RETURN(listener, net::Listener::Bind(o.peers[o.rank].data_address));
  }
  WorldView view;
  view.revision = 1;
  view.rank = o.rank;
  view.peers = std::move(o.peers);
  return std::unique_ptr<StaticWorld>(new StaticWorld(o.run_id, std::move(view),
                                                      std::move(listener)));
}

WorldView StaticWorld::View() const {
  std::lock_guard<std::mutex> lock(mu_);
  return view_;
}

Status StaticWorld::UpdateTopology(std::chrono::milliseconds) {
  std::lock_guard<std::mutex> lock(mu_);
  view_.revision = std::max(view_.revision, announced_.load());
  return OkStatus();
}

void StaticWorld::ReportPeerFailure(uint64_t peer_id, const Status& cause) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.emplace_back(peer_id, cause);
}

void StaticWorld::AnnounceRevision(uint64_t revision) {
  uint64_t cur = announced_.load();
  while (revision > cur && !announced_.compare_exchange_weak(cur, revision)) {
  }
}

std::vector<std::pair<uint64_t, Status>> StaticWorld::ReportedFailures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failures_;
}

LocalRendezvous::LocalRendezvous(int size, uint64_t run_id)
    : size_(size), run_id_(run_id), addresses_(static_cast<size_t>(size)) {}

LocalRendezvous::~LocalRendezvous() = default;

Result<std::unique_ptr<StaticWorld>> LocalRendezvous::Join(int rank,
                                                           std::chrono::milliseconds timeout) {
  if (rank < 0 || rank >= size_) {
    return InvalidArgumentError("rendezvous: rank " + std::to_string(rank) + " out of range");
  }
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<net::Listener> listener,
                        net::Listener::Bind("127.0.0.1:0"));
  std::unique_lock<std::mutex> lock(mu_);
  if (!addresses_[static_cast<size_t>(rank)].empty()) {
    return InvalidArgumentError("rendezvous: rank " + std::to_string(rank) + " joined twice");
  }
  addresses_[static_cast<size_t>(rank)] = listener->address();
  ++joined_;
  cv_.notify_all();
  if (!cv_.wait_for(lock, timeout, [&] { return joined_ == size_; })) {
    return DeadlineExceededError("rendezvous: " + std::to_string(joined_) + " of " +
                                 std::to_string(size_) + " ranks joined before the timeout");
  }
  StaticWorldOptions o;
  o.run_id = run_id_;
  o.rank = rank;
  for (int r = 0; r < size_; ++r) {
    o.peers.push_back({static_cast<uint64_t>(r + 1), addresses_[static_cast<size_t>(r)]});
  }
  lock.unlock();
  o.listen_fd = listener->ReleaseFd();  // the world adopts it
  return StaticWorld::Create(std::move(o));
}

}  // namespace tern
