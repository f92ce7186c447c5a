#include "train/linkem_world.h"

#include <set>

#include "util/logging.h"

namespace tern::train {

Result<std::unique_ptr<LinkemWorld>> LinkemWorld::Create(World* inner, LinkSpec link) {
  if (inner == nullptr) return InvalidArgumentError("LinkemWorld needs a world");
  auto w = std::unique_ptr<LinkemWorld>(new LinkemWorld(inner, link));
  std::lock_guard<std::mutex> lock(w->mu_);
  TERN_RETURN_IF_ERROR(w->EnsureProxies(inner->View()));
  return w;
}

LinkemWorld::~LinkemWorld() {
  std::lock_guard<std::mutex> lock(mu_);
  proxies_.clear();  // each Linkem stops its thread
}

Status LinkemWorld::EnsureProxies(const WorldView& view) const {
  for (int r = 0; r < view.size(); ++r) {
    if (r == view.rank) continue;
    const PeerInfo& p = view.peers[static_cast<size_t>(r)];
    auto key = std::make_pair(p.peer_id, p.data_address);
    if (proxies_.count(key) != 0) continue;
    net::LinkemOptions o;
    o.listen = "127.0.0.1:0";
    o.to = p.data_address;
    o.rate_mbit = link_.rate_mbit;
    o.delay_ms = link_.delay_ms;
    TERN_ASSIGN_OR_RETURN(proxies_[key], net::Linkem::Start(o));
  }
  return OkStatus();
}

WorldView LinkemWorld::View() const {
  WorldView v = inner_->View();
  std::lock_guard<std::mutex> lock(mu_);
  Status s = EnsureProxies(v);
  if (!s.ok()) TERN_LOG(ERROR) << "link emulator: " << s.ToString();
  for (int r = 0; r < v.size(); ++r) {
    if (r == v.rank) continue;
    PeerInfo& p = v.peers[static_cast<size_t>(r)];
    auto it = proxies_.find({p.peer_id, p.data_address});
    if (it != proxies_.end()) p.data_address = it->second->address();
  }
  return v;
}

Status LinkemWorld::UpdateTopology(std::chrono::milliseconds timeout) {
  TERN_RETURN_IF_ERROR(inner_->UpdateTopology(timeout));
  const WorldView view = inner_->View();
  std::vector<std::unique_ptr<net::Linkem>> departed;
  Status s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    departed = TakeDeparted(view);
    s = EnsureProxies(view);
  }
  // Stop delivers what a proxy still holds (bounded): outside the lock, so
  // View() and forwarded_bytes() do not wait for it.
  uint64_t bytes = 0;
  for (auto& proxy : departed) {
    proxy->Stop();
    const net::LinkemStats st = proxy->stats();
    bytes += st.bytes_forward + st.bytes_reverse;
  }
  std::lock_guard<std::mutex> lock(mu_);
  pruned_bytes_ += bytes;
  return s;
}

std::vector<std::unique_ptr<net::Linkem>> LinkemWorld::TakeDeparted(const WorldView& view) {
  std::set<std::pair<uint64_t, std::string>> live;
  for (const PeerInfo& p : view.peers) live.insert({p.peer_id, p.data_address});
  std::vector<std::unique_ptr<net::Linkem>> out;
  for (auto it = proxies_.begin(); it != proxies_.end();) {
    if (live.count(it->first) != 0) {
      ++it;
      continue;
    }
    out.push_back(std::move(it->second));
    it = proxies_.erase(it);
  }
  return out;
}

size_t LinkemWorld::proxy_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return proxies_.size();
}

uint64_t LinkemWorld::forwarded_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t n = pruned_bytes_;
  for (const auto& [key, proxy] : proxies_) {
    const net::LinkemStats s = proxy->stats();
    n += s.bytes_forward + s.bytes_reverse;
  }
  return n;
}

}  // namespace tern::train
