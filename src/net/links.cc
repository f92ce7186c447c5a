#include "net/links.h"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "util/logging.h"

namespace tern::net {
namespace {

constexpr int64_t kSliceMillis = 50;
// Short, so the accept loop notices soon that the handshakes finished.
constexpr int64_t kAcceptSliceMillis = 5;

// Shared state of one EstablishLinks call.
class Gather {
 public:
  explicit Gather(const LinkSetSpec& spec) : spec_(spec) {
    const int streams = spec.params.stream_count + 1;
    for (const PeerEndpoint& p : spec.dial) Add(p.peer_id, streams);
    for (uint64_t id : spec.accept_from) Add(id, streams);
    for (uint64_t id : spec.accept_from) may_dial_us_.insert(id);
  }

  // Stores a handshaken connection; a later one for the same slot replaces
  // an earlier one (its dialer retried and abandoned the first).
  void Put(uint64_t peer, uint16_t stream, std::unique_ptr<Conn> conn) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = slots_[peer][stream];
    if (slot == nullptr) --missing_;
    slot = std::move(conn);
    cv_.notify_all();
  }
  void Fail(Status s) {
    std::lock_guard<std::mutex> lock(mu_);
    if (error_.ok()) error_ = std::move(s);
    for (Conn* c : inflight_) c->Close();
    cv_.notify_all();
  }
  // Stops retries and closes handshakes still in flight (unneeded, or
  // never finishing); Finish() then reports what is missing.
  void Cancel() {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    for (Conn* c : inflight_) c->Close();
  }
  bool Stopped() {
    std::lock_guard<std::mutex> lock(mu_);
    return !error_.ok() || missing_ == 0 || cancelled_;
  }
  bool Track(Conn* c) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!error_.ok() || cancelled_) return false;
    inflight_.insert(c);
    return true;
  }
  void Untrack(Conn* c) {
    std::lock_guard<std::mutex> lock(mu_);
    inflight_.erase(c);
  }
  // Waits a slice; returns true when finished (all in or failed).
  bool WaitSlice() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(kSliceMillis),
                 [&] { return !error_.ok() || missing_ == 0; });
    return !error_.ok() || missing_ == 0;
  }
  wire::HelloResult Admit(const wire::Hello& h) const {
    if (!may_dial_us_.count(h.from_peer)) return wire::HelloResult::kUnknownPeer;
    return wire::HelloResult::kAccepted;
  }
  Result<std::vector<PeerLink>> Finish() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!error_.ok()) return error_;
    if (missing_ > 0) return DeadlineExceededError(MissingDescription());
    std::vector<PeerLink> links;
    auto take = [&](uint64_t id) {
      PeerLink link;
      link.peer_id = id;
      auto& s = slots_[id];
      link.control = std::move(s[0]);
      for (size_t i = 1; i < s.size(); ++i) link.data.push_back(std::move(s[i]));
      links.push_back(std::move(link));
    };
    for (const PeerEndpoint& p : spec_.dial) take(p.peer_id);
    for (uint64_t id : spec_.accept_from) take(id);
    return links;
  }

 private:
  void Add(uint64_t peer, int streams) {
    slots_[peer].resize(static_cast<size_t>(streams));
    missing_ += streams;
  }
  std::string MissingDescription() {
    std::string s = "links not established before the deadline; missing peers:";
    for (auto& [id, conns] : slots_) {
      for (auto& c : conns) {
        if (c == nullptr) {
          s.append(" ").append(std::to_string(id));
          break;
        }
      }
    }
    return s;
  }

  const LinkSetSpec& spec_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, std::vector<std::unique_ptr<Conn>>> slots_;
  std::set<uint64_t> may_dial_us_;
  std::set<Conn*> inflight_;
  int missing_ = 0;
  bool cancelled_ = false;
  Status error_;
};

bool Retryable(const Status& s) {
  return s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kDeadlineExceeded;
}

// One dialed connection: connect + handshake, retried until the deadline.
void DialOne(Gather& g, const LinkSetSpec& spec, const PeerEndpoint& peer, uint16_t stream,
             Deadline deadline) {
  int64_t backoff_ms = 5;
  Status last;
  while (!g.Stopped()) {
    const Deadline attempt = deadline.Min(Deadline::AfterMillis(5000));
    Result<std::unique_ptr<Conn>> conn = TcpConnect(peer.address, attempt);
    if (conn.ok()) {
      Conn* raw = conn->get();
      if (!g.Track(raw)) return;
      last = DialHandshake(*conn, spec.params, peer.peer_id, stream, deadline);
      g.Untrack(raw);
      if (last.ok()) return g.Put(peer.peer_id, stream, std::move(*conn));
    } else {
      last = conn.status();
    }
    if (!Retryable(last)) return g.Fail(last);
    if (deadline.Expired()) return;  // Finish() reports the missing peer
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
    backoff_ms = std::min<int64_t>(backoff_ms * 2, 200);
  }
}

void AnswerOne(Gather& g, const LinkSetSpec& spec, std::unique_ptr<Conn> conn, Deadline deadline) {
  Conn* raw = conn.get();
  if (!g.Track(raw)) return;
  Result<wire::Hello> hello = AnswerHandshake(
      conn, spec.params, [&g](const wire::Hello& h) { return g.Admit(h); }, deadline);
  g.Untrack(raw);
  if (hello.ok()) {
    g.Put(hello->from_peer, hello->stream, std::move(conn));
  } else if (hello.status().code() == StatusCode::kPermissionDenied) {
    // A peer without the run's credentials: refuse it and keep waiting for
    // the real one (semantic 7), but say so.
    TERN_LOG(WARNING) << hello.status().ToString();
  }
}

}  // namespace

void PeerLink::Close() {
  if (control) control->Close();
  for (auto& c : data)
    if (c) c->Close();
}

Result<std::vector<PeerLink>> EstablishLinks(Listener& listener, const LinkSetSpec& spec,
                                             Deadline deadline) {
  Gather g(spec);
  std::vector<std::thread> threads;
  for (const PeerEndpoint& p : spec.dial) {
    for (uint16_t s = 0; s <= spec.params.stream_count; ++s) {
      threads.emplace_back([&g, &spec, p, s, deadline] { DialOne(g, spec, p, s, deadline); });
    }
  }
  while (!g.Stopped() && !deadline.Expired()) {
    if (spec.abandon) {
      Status s = spec.abandon();
      if (!s.ok()) {
        g.Fail(std::move(s));
        break;
      }
    }
    if (spec.accept_from.empty()) {
      g.WaitSlice();
      continue;
    }
    Result<std::unique_ptr<Conn>> conn =
        listener.Accept(deadline.Min(Deadline::AfterMillis(kAcceptSliceMillis)));
    if (!conn.ok()) {
      if (conn.status().code() != StatusCode::kDeadlineExceeded) g.Fail(conn.status());
      continue;
    }
    threads.emplace_back([&g, &spec, c = std::move(*conn), deadline]() mutable {
      AnswerOne(g, spec, std::move(c), deadline);
    });
  }
  g.Cancel();
  for (auto& t : threads) t.join();
  return g.Finish();
}

}  // namespace tern::net
