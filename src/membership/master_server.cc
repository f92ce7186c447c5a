#include "membership/master_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

#include "membership/frames.h"
#include "membership/liveness_probe.h"
#include "membership/tls.h"
#include "net/handshake.h"
#include "util/clock.h"
#include "util/logging.h"

namespace tern {
namespace {

using membership::FramedConn;
using membership::Outbox;

constexpr int kMaxHandshakes = 64;
// A peer that does not read its messages is cut off past this backlog.
constexpr size_t kMaxQueuedBytes = size_t{64} << 20;
constexpr int kMaxPollMillis = 200;
constexpr int64_t kProbeMillis = 500;

int64_t NowMs() { return NowNanos() / 1000000; }

membership::MasterCoreOptions CoreOptions(const MasterOptions& o, bool restarted) {
  membership::MasterCoreOptions c;
  c.run_id = o.run_id;
  c.heartbeat_interval_ms = o.heartbeat_interval.count();
  c.heartbeat_timeout_ms = o.heartbeat_timeout.count();
  c.verdict_timeout_ms = std::min<int64_t>(1000, o.heartbeat_timeout.count());
  const int64_t window =
      o.recovery_window.count() > 0 ? o.recovery_window.count() : o.heartbeat_timeout.count();
  c.recovery_window_ms = restarted ? window : 0;
  c.min_peers = o.min_peers;
  c.max_peers = o.max_peers;
  return c;
}

// Whether this start may follow an earlier master of the run (then members
// get a recovery window to re-register).
bool Restarted(const MasterOptions& o, const std::optional<membership::proto::MasterState>& loaded) {
  if (o.fresh_run) return false;
  return loaded ? loaded->revision() > 0 : o.state_dir.empty();
}

Status ValidateOptions(const MasterOptions& o) {
  if (o.secret.empty() && !o.insecure) {
    return InvalidArgumentError(
        "the master needs a run secret (--secret-file); pass --insecure to run without one");
  }
  if (o.tls && o.secret.empty()) return InvalidArgumentError("TLS needs a run secret");
  if (o.heartbeat_interval.count() <= 0 || o.heartbeat_timeout <= o.heartbeat_interval) {
    return InvalidArgumentError("heartbeat timeout must exceed a positive heartbeat interval");
  }
  if (o.min_peers < 1 || o.max_peers < o.min_peers) {
    return InvalidArgumentError("need 1 <= min_peers <= max_peers");
  }
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<Master::Impl>> Master::Impl::Start(MasterOptions options) {
  TERN_RETURN_IF_ERROR(ValidateOptions(options));
  std::optional<membership::MasterStore> store;
  std::optional<membership::proto::MasterState> loaded;
  if (!options.state_dir.empty()) {
    TERN_ASSIGN_OR_RETURN(membership::MasterStore s, membership::MasterStore::Open(options.state_dir));
    TERN_ASSIGN_OR_RETURN(loaded, s.Load());
    store = std::move(s);
    if (loaded && options.run_id != 0 && loaded->run_id() != options.run_id) {
      return FailedPreconditionError("state dir " + options.state_dir + " holds run " +
                                     std::to_string(loaded->run_id()) + ", not run " +
                                     std::to_string(options.run_id));
    }
    if (loaded) options.run_id = loaded->run_id();
  }
  if (options.run_id == 0) return InvalidArgumentError("run id 0 is reserved");
  std::unique_ptr<membership::RunAuthenticator> auth;
  if (!options.secret.empty()) {
    std::shared_ptr<const membership::TlsContext> tls;
    if (options.tls) {
      TERN_ASSIGN_OR_RETURN(tls, membership::TlsContext::Create());
    }
    auth = std::make_unique<membership::RunAuthenticator>(options.secret, tls);
  }
  std::unique_ptr<net::Listener> listener;
  if (options.listen_fd >= 0) {
    TERN_ASSIGN_OR_RETURN(listener, net::Listener::Adopt(options.listen_fd));
  } else {
    TERN_ASSIGN_OR_RETURN(listener, net::Listener::Bind(options.listen_address));
  }
  const bool restarted = Restarted(options, loaded);
  auto impl = std::unique_ptr<Impl>(new Impl(std::move(options), std::move(listener),
                                             std::move(store), std::move(auth), std::move(loaded),
                                             restarted));
  if (impl->wake_fd_ < 0) return InternalError("eventfd failed");
  impl->loop_ = std::thread([p = impl.get()] { p->Loop(); });
  return impl;
}

Master::Impl::Impl(MasterOptions options, std::unique_ptr<net::Listener> listener,
                   std::optional<membership::MasterStore> store,
                   std::unique_ptr<membership::RunAuthenticator> auth,
                   std::optional<membership::proto::MasterState> loaded, bool restarted)
    : options_(std::move(options)),
      listener_(std::move(listener)),
      store_(std::move(store)),
      auth_(std::move(auth)),
      core_(CoreOptions(options_, restarted), std::move(loaded), NowMs()),
      wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

Master::Impl::~Impl() {
  stop_ = true;
  Wake();
  if (loop_.joinable()) loop_.join();
  std::unique_lock<std::mutex> lock(mu_);
  for (net::Conn* c : handshaking_) c->Close();
  cv_.wait(lock, [&] { return handshake_threads_ == 0 && probe_threads_ == 0; });
  lock.unlock();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Master::Impl::Wake() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
}

MasterSnapshot Master::Impl::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  MasterSnapshot s = core_.Snapshot();
  s.auth_failures = auth_failures_;
  return s;
}

bool Master::Impl::WaitForRevision(uint64_t revision, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout,
                      [&] { return core_.revision() >= revision && core_.committed(); });
}

void Master::Impl::Loop() {
  while (!stop_) {
    std::vector<pollfd> fds{{listener_->fd(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    std::vector<uint64_t> ids;
    for (auto& [id, c] : conns_) {
      net::PollSpec spec = c->Poll();
      fds.push_back({spec.fd, spec.events, 0});
      ids.push_back(id);
    }
    int64_t wait;
    {
      std::lock_guard<std::mutex> lock(mu_);
      wait = std::clamp<int64_t>(core_.NextDeadline() - NowMs(), 0, kMaxPollMillis);
    }
    ::poll(fds.data(), fds.size(), static_cast<int>(wait));
    if (stop_) break;
    if (fds[1].revents) {
      uint64_t v;
      [[maybe_unused]] ssize_t n = ::read(wake_fd_, &v, sizeof(v));
      AdoptHandshaken();
    }
    if (fds[0].revents) AcceptAll();
    Outbox out;
    const int64_t now = NowMs();
    std::lock_guard<std::mutex> lock(mu_);
    TakeProbeResults(now, &out);
    for (size_t i = 0; i < ids.size(); ++i) {
      if (fds[i + 2].revents == 0) continue;
      auto it = conns_.find(ids[i]);
      if (it != conns_.end()) ServeConn(ids[i], *it->second, now, &out);
    }
    core_.OnTick(now, &out);
    Apply(out);
  }
  for (auto& [id, c] : conns_) c->Close();
  conns_.clear();
}

void Master::Impl::ServeConn(uint64_t id, FramedConn& conn, int64_t now, Outbox* out) {
  // Frames that arrived before an error (a Leave before the close) count.
  Status pumped = conn.Pump();
  Status s;
  while (s.ok()) {
    std::optional<net::Frame> f = conn.TakeFrame();
    if (!f) break;
    membership::proto::PeerToMaster m;
    if (f->type != membership::FrameCode(membership::CpFrame::kPeerToMaster) ||
        !m.ParseFromString(f->payload)) {
      s = DataLossError("malformed control message (frame type " + std::to_string(f->type) + ")");
      break;
    }
    core_.OnMessage(id, m, now, out);
  }
  if (s.ok()) s = pumped;
  if (!s.ok()) {
    TERN_LOG(INFO) << "master: connection " << id << " (" << conn.peer() << "): " << s.ToString();
    CloseConn(id, now, out);
  }
}

void Master::Impl::CloseConn(uint64_t id, int64_t now, Outbox* out) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  it->second->Close();
  conns_.erase(it);
  core_.OnClosed(id, now, out);
}

void Master::Impl::Apply(Outbox& out) {
  // Loop until no further closes cascade (a close can drop a member, which
  // sends announces).
  while (!out.sends.empty() || !out.closes.empty() || !out.probes.empty() || out.persist) {
    if (out.persist && store_) {
      Status s = store_->Save(core_.Persistent());
      if (!s.ok()) TERN_LOG(ERROR) << "master: cannot persist state: " << s.ToString();
    }
    out.persist = false;
    for (membership::Outbox::Probe& p : out.probes) StartProbe(std::move(p));
    out.probes.clear();
    for (auto& [id, msg] : out.sends) {
      auto it = conns_.find(id);
      if (it == conns_.end()) continue;
      it->second->Queue(membership::FrameCode(membership::CpFrame::kMasterToPeer),
                        msg.SerializeAsString());
    }
    out.sends.clear();
    std::vector<uint64_t> closes = std::move(out.closes);
    out.closes.clear();
    for (auto& [id, c] : conns_) {
      if (std::find(closes.begin(), closes.end(), id) != closes.end()) continue;
      if (!c->Flush().ok() || c->queued_bytes() > kMaxQueuedBytes) closes.push_back(id);
    }
    for (uint64_t id : closes) {
      auto it = conns_.find(id);
      if (it == conns_.end()) continue;
      it->second->Flush().IgnoreError();  // best effort: a Refused message
      CloseConn(id, NowMs(), &out);
    }
  }
  cv_.notify_all();
}

void Master::Impl::AcceptAll() {
  for (;;) {
    Result<std::unique_ptr<net::Conn>> conn = listener_->Accept(Deadline::AfterMillis(0));
    if (!conn.ok()) return;
    std::unique_lock<std::mutex> lock(mu_);
    if (handshake_threads_ >= kMaxHandshakes) {
      lock.unlock();
      (*conn)->Close();
      continue;
    }
    ++handshake_threads_;
    handshaking_.insert(conn->get());
    lock.unlock();
    std::thread([this, c = std::move(*conn)]() mutable { Handshake(std::move(c)); }).detach();
  }
}

void Master::Impl::Handshake(std::unique_ptr<net::Conn> conn) {
  net::Conn* tracked = conn.get();
  net::HandshakeParams params;
  params.channel = membership::kMasterChannel;
  params.run_id = options_.run_id;
  params.self_peer = membership::kMasterPeerId;
  params.auth = auth_.get();
  const std::string from = conn->peer();
  Result<wire::Hello> hello =
      net::AnswerHandshake(conn, params, nullptr, Deadline::AfterMillis(membership::kHandshakeMillis));
  std::lock_guard<std::mutex> lock(mu_);
  handshaking_.erase(tracked);
  if (hello.ok() && !stop_) {
    handshaken_.push_back(std::move(conn));
    Wake();
  } else if (!hello.ok()) {
    ++auth_failures_;
    TERN_LOG(WARNING) << "master: refused connection from " << from << ": " << hello.status().ToString();
  }
  --handshake_threads_;
  cv_.notify_all();
}

// REQUIRES: mu_ held (called from Apply).
void Master::Impl::StartProbe(membership::Outbox::Probe probe) {
  if (stop_) return;
  ++probe_threads_;
  std::thread([this, probe = std::move(probe)] {
    const membership::ProbeOutcome r =
        membership::ProbeListener(probe.address, Deadline::AfterMillis(kProbeMillis));
    std::lock_guard<std::mutex> lock(mu_);
    probe_results_.emplace_back(probe.peer, r == membership::ProbeOutcome::kRefused);
    --probe_threads_;
    Wake();
    cv_.notify_all();
  }).detach();
}

// REQUIRES: mu_ held.
void Master::Impl::TakeProbeResults(int64_t now, Outbox* out) {
  for (const auto& [peer, refused] : probe_results_) core_.OnProbeResult(peer, refused, now, out);
  probe_results_.clear();
}

void Master::Impl::AdoptHandshaken() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& c : handshaken_) {
    TERN_LOG(DEBUG) << "master: connection " << next_conn_ << " from " << c->peer();
    conns_[next_conn_++] =
        std::make_unique<FramedConn>(std::move(c), membership::kMaxControlMessage);
  }
  handshaken_.clear();
}

// --- Master (public) ---------------------------------------------------------

Master::Master(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Master::~Master() = default;

Result<std::unique_ptr<Master>> Master::Start(MasterOptions options) {
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<Impl> impl, Impl::Start(std::move(options)));
  return std::unique_ptr<Master>(new Master(std::move(impl)));
}

Result<std::unique_ptr<Master>> Master::StartLocal(uint64_t run_id, int min_peers) {
  MasterOptions o;
  o.run_id = run_id;
  o.min_peers = min_peers;
  o.fresh_run = true;
  TERN_ASSIGN_OR_RETURN(o.secret, GenerateSecret());
  return Start(std::move(o));
}

const std::string& Master::address() const { return impl_->address(); }
uint64_t Master::run_id() const { return impl_->run_id(); }
MasterSnapshot Master::Snapshot() const { return impl_->Snapshot(); }
bool Master::WaitForRevision(uint64_t revision, std::chrono::milliseconds timeout) const {
  return impl_->WaitForRevision(revision, timeout);
}

MasterWorldOptions Master::PeerOptions() const {
  MasterWorldOptions o;
  o.master_address = impl_->address();
  o.run_id = impl_->run_id();
  o.secret = impl_->options().secret;
  o.tls = impl_->options().tls;
  return o;
}

}  // namespace tern
