// MasterWorld (tern/master.h): construction, the World interface, and the
// revision logic of UpdateTopology. Topology probing is in
// topology_probe.cc.
#include <algorithm>

#include "membership/frames.h"
#include "membership/master_world_impl.h"
#include "membership/tls.h"
#include "util/logging.h"

namespace tern {

namespace mp = membership::proto;

namespace {

std::string Advertised(const std::string& bound, const std::string& host) {
  if (host.empty()) return bound;
  const size_t colon = bound.rfind(':');
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + bound.substr(colon);
}

std::string ListenSpec(const std::string& host) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":0";
}

}  // namespace

MasterWorld::Impl::Impl(MasterWorldOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<MasterWorld::Impl>> MasterWorld::Impl::Create(MasterWorldOptions options,
                                                                     Deadline deadline) {
  if (options.master_address.empty()) return InvalidArgumentError("no master address");
  if (options.run_id == 0) return InvalidArgumentError("run id 0 is reserved");
  if (options.tls && options.secret.empty()) return InvalidArgumentError("TLS needs a run secret");
  auto impl = std::unique_ptr<Impl>(new Impl(options));
  if (!options.secret.empty()) {
    std::shared_ptr<const membership::TlsContext> tls;
    if (options.tls) {
      TERN_ASSIGN_OR_RETURN(tls, membership::TlsContext::Create());
    }
    impl->auth_ = std::make_unique<membership::RunAuthenticator>(options.secret, tls);
  }
  TERN_ASSIGN_OR_RETURN(impl->data_listener_, net::Listener::Bind(ListenSpec(options.listen_host)));
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<net::Listener> state_listener,
                        net::Listener::Bind(ListenSpec(options.listen_host)));
  Impl* self = impl.get();
  impl->service_ = std::make_unique<membership::PeerService>(
      std::move(state_listener), options.run_id, impl->auth_.get(),
      [self] { return self->View(); });
  membership::ControlClientOptions co;
  co.master_address = options.master_address;
  co.run_id = options.run_id;
  co.auth = impl->auth_.get();
  co.peer_id = options.peer_id;
  co.connect_timeout = options.connect_timeout;
  membership::ControlCallbacks cb;
  cb.make_register = [self] { return self->MakeRegister(); };
  cb.on_message = [self](const mp::MasterToPeer& m) { self->OnMessage(m); };
  cb.on_connection = [self](bool up) { self->OnConnection(up); };
  impl->client_ = std::make_unique<membership::ControlClient>(co, cb);
  TERN_RETURN_IF_ERROR(impl->client_->Start(deadline));
  return impl;
}

MasterWorld::Impl::~Impl() {
  bool leave;
  {
    std::lock_guard<std::mutex> lock(mu_);
    leave = !left_ && client_ != nullptr && client_->connected();
  }
  if (leave) Leave(Deadline::AfterMillis(500)).IgnoreError();
  client_.reset();   // its thread calls back into us: stop it first
  service_.reset();  // its threads read View()
}

mp::Register MasterWorld::Impl::MakeRegister() const {
  std::lock_guard<std::mutex> lock(mu_);
  mp::Register r;
  r.set_data_address(Advertised(data_listener_->address(), options_.advertise_host));
  r.set_state_address(Advertised(service_->address(), options_.advertise_host));
  r.set_revision(view_.revision);
  r.set_announced_revision(announced_.revision());
  for (const mp::Member& m : view_members_) *r.add_members() = m;
  r.set_next_peer_id_seen(next_peer_id_seen_);
  return r;
}

void MasterWorld::Impl::OnMessage(const mp::MasterToPeer& m) {
  std::lock_guard<std::mutex> lock(mu_);
  switch (m.msg_case()) {
    case mp::MasterToPeer::kRegisterAck:
      registered_ = true;
      next_peer_id_seen_ = std::max(next_peer_id_seen_, m.register_ack().next_peer_id());
      break;
    case mp::MasterToPeer::kAnnounce:
      if (m.announce().revision() > announced_.revision()) {
        announced_ = m.announce();
        uint64_t cur = announced_rev_.load();
        while (announced_.revision() > cur &&
               !announced_rev_.compare_exchange_weak(cur, announced_.revision())) {
        }
      }
      next_peer_id_seen_ = std::max(next_peer_id_seen_, m.announce().next_peer_id());
      break;
    case mp::MasterToPeer::kCommitted:
      committed_ = std::max(committed_, m.committed().revision());
      break;
    case mp::MasterToPeer::kPending: pending_ = m.pending().count(); break;
    case mp::MasterToPeer::kVoteResult: vote_results_.insert(m.vote_result().request_id()); break;
    case mp::MasterToPeer::kLeaveAck: leave_acks_.insert(m.leave_ack().request_id()); break;
    case mp::MasterToPeer::kSyncPlan:
    case mp::MasterToPeer::kSyncResult:
    case mp::MasterToPeer::kTopologyPlan:
    case mp::MasterToPeer::kTopologyResult: {
      const uint64_t id = m.has_sync_plan()     ? m.sync_plan().request_id()
                          : m.has_sync_result() ? m.sync_result().request_id()
                          : m.has_topology_plan() ? m.topology_plan().request_id()
                                                  : m.topology_result().request_id();
      // Only requests still open (bounds what a confused master can queue).
      if (open_requests_.count(id) > 0) replies_[id].push_back(m);
      break;
    }
    case mp::MasterToPeer::kTopologyGo: topology_go_round_ = m.topology_go().round(); break;
    default: break;
  }
  cv_.notify_all();
}

void MasterWorld::Impl::OnConnection(bool) {
  std::lock_guard<std::mutex> lock(mu_);
  cv_.notify_all();
}

WorldView MasterWorld::Impl::View() const {
  std::lock_guard<std::mutex> lock(mu_);
  return view_;
}

Result<bool> MasterWorld::Impl::PeersPending() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!registered_) return UnavailableError("not registered with the master");
  return pending_ > 0;
}

bool MasterWorld::Impl::AnnouncedIncludesMe() const {
  const uint64_t me = client_->peer_id();
  return std::any_of(announced_.members().begin(), announced_.members().end(),
                     [me](const mp::Member& m) { return m.peer_id() == me; });
}

void MasterWorld::Impl::AdoptAnnounced() {
  const uint64_t me = client_->peer_id();
  WorldView v;
  v.revision = announced_.revision();
  view_members_.assign(announced_.members().begin(), announced_.members().end());
  for (const mp::Member& m : view_members_) {
    if (m.peer_id() == me) v.rank = static_cast<int>(v.peers.size());
    v.peers.push_back({m.peer_id(), m.data_address()});
  }
  view_ = std::move(v);
  suspects_.clear();
  failed_ = false;
  vote_results_.clear();  // answers to votes of older revisions
  TERN_LOG(INFO) << "peer " << me << ": adopted revision " << view_.revision << " as rank "
                 << view_.rank << " of " << view_.size();
}

Status MasterWorld::Impl::Unreachable(const char* what) const {
  if (!client_->connected()) {
    return UnavailableError(std::string("master unreachable while ") + what);
  }
  return DeadlineExceededError(std::string("deadline passed while ") + what);
}

Status MasterWorld::Impl::UpdateTopology(Deadline deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  if (left_) return FailedPreconditionError("this peer left the run");
  for (;;) {
    const uint64_t epoch = client_->epoch();
    auto wait = [&](auto pred) {
      return cv_.wait_until(lock, deadline.when(), [&] {
        return pred() || client_->epoch() != epoch;
      });
    };
    if (announced_.revision() > view_.revision && AnnouncedIncludesMe()) {
      const uint64_t target = announced_.revision();
      mp::PeerToMaster adopt;
      adopt.mutable_adopt()->set_revision(target);
      client_->Send(adopt);
      const bool woke = wait([&] { return committed_ >= target || announced_.revision() != target; });
      if (committed_ >= target && announced_.revision() == target) {
        AdoptAnnounced();
        return OkStatus();
      }
      if (!woke) return Unreachable("waiting for all members to adopt the new revision");
      continue;
    }
    if (view_.revision == 0 || announced_.revision() > view_.revision) {
      // Pending, or left out of the newest revision (dropped): tell the
      // master we wait at our safe point (only such peers are admitted),
      // then wait to be admitted into a later revision.
      mp::PeerToMaster ready;
      ready.mutable_vote()->set_request_id(NextRequestId());
      ready.mutable_vote()->set_revision(view_.revision);
      client_->Send(ready);
      const uint64_t seen = announced_.revision();
      if (!wait([&] { return announced_.revision() > seen && AnnouncedIncludesMe(); })) {
        return Unreachable("waiting to be admitted into a revision");
      }
      continue;
    }
    if (pending_ == 0 && suspects_.empty() && !failed_) return OkStatus();
    const uint64_t request = NextRequestId();
    mp::PeerToMaster vote;
    vote.mutable_vote()->set_request_id(request);
    vote.mutable_vote()->set_revision(view_.revision);
    for (uint64_t s : suspects_) vote.mutable_vote()->add_suspects(s);
    vote.mutable_vote()->set_failed(failed_ && suspects_.empty());
    client_->Send(vote);
    const bool woke = wait([&] {
      return vote_results_.count(request) > 0 || announced_.revision() > view_.revision;
    });
    if (announced_.revision() > view_.revision) continue;
    if (vote_results_.erase(request) > 0) {
      suspects_.clear();  // the master found them alive
      failed_ = false;
      return OkStatus();
    }
    if (!woke) return Unreachable("waiting for the master's answer to a vote");
  }
}

void MasterWorld::Impl::ReportPeerFailure(uint64_t peer_id, const Status& cause) {
  std::lock_guard<std::mutex> lock(mu_);
  if (view_.revision == 0) return;
  const bool blamed = peer_id != client_->peer_id() && view_.RankOf(peer_id) >= 0;
  if (blamed) {
    suspects_.insert(peer_id);
  } else {
    failed_ = true;  // the next UpdateTopology asks for the abort again
  }
  mp::PeerToMaster m;
  mp::FailureReport* f = m.mutable_failure();
  f->set_suspect(blamed ? peer_id : 0);
  f->set_revision(view_.revision);
  f->set_code(static_cast<int32_t>(cause.code()));
  f->set_message(std::string(cause.message().substr(0, 256)));
  client_->Send(m);
}

Status MasterWorld::Impl::Leave(Deadline deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  if (left_) return OkStatus();
  const uint64_t request = NextRequestId();
  mp::PeerToMaster m;
  m.mutable_leave()->set_request_id(request);
  client_->Send(m);
  const bool acked = cv_.wait_until(lock, deadline.when(), [&] {
    return leave_acks_.count(request) > 0 || !client_->connected();
  });
  left_ = true;
  const bool ok = acked && leave_acks_.count(request) > 0;
  lock.unlock();
  client_->Stop();
  return ok ? OkStatus() : Unreachable("leaving");
}

std::map<uint64_t, std::string> MasterWorld::Impl::StateAddresses() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<uint64_t, std::string> out;
  for (const mp::Member& m : view_members_) out[m.peer_id()] = m.state_address();
  return out;
}

Result<mp::MasterToPeer> MasterWorld::Impl::Request(const mp::PeerToMaster& m,
                                                    uint64_t request_id,
                                                    const ReplyFilter& accept, Deadline deadline,
                                                    uint64_t* epoch) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (left_) return FailedPreconditionError("this peer left the run");
    // Taken before sending: a reconnection after this point means the
    // request may be lost, and the wait below notices.
    *epoch = client_->epoch();
    open_requests_.insert(request_id);
    if (!client_->connected()) return UnavailableError("master unreachable");
  }
  client_->Send(m);
  return AwaitReply(request_id, accept, deadline, *epoch);
}

Result<mp::MasterToPeer> MasterWorld::Impl::AwaitReply(uint64_t request_id,
                                                       const ReplyFilter& accept,
                                                       Deadline deadline, uint64_t epoch) {
  std::unique_lock<std::mutex> lock(mu_);
  std::optional<mp::MasterToPeer> found;
  auto take = [&] {
    auto it = replies_.find(request_id);
    if (it == replies_.end()) return false;
    auto& list = it->second;
    for (auto m = list.begin(); m != list.end(); ++m) {
      if (accept(*m)) {
        found = std::move(*m);
        list.erase(m);
        if (list.empty()) replies_.erase(it);
        return true;
      }
    }
    return false;
  };
  cv_.wait_until(lock, deadline.when(), [&] {
    return take() || client_->epoch() != epoch || !client_->connected();
  });
  if (found) return std::move(*found);
  if (client_->epoch() != epoch || !client_->connected()) {
    return UnavailableError("lost the master connection while waiting for its answer");
  }
  return DeadlineExceededError("deadline passed waiting for the master");
}

void MasterWorld::Impl::Finish(uint64_t request_id) {
  std::lock_guard<std::mutex> lock(mu_);
  open_requests_.erase(request_id);
  replies_.erase(request_id);
}

// --- MasterWorld (public) ------------------------------------------------------

MasterWorld::MasterWorld(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MasterWorld::~MasterWorld() = default;

Result<std::unique_ptr<MasterWorld>> MasterWorld::Connect(MasterWorldOptions options,
                                                          std::chrono::milliseconds timeout) {
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<Impl> impl,
                        Impl::Create(std::move(options), Deadline::After(timeout)));
  return std::unique_ptr<MasterWorld>(new MasterWorld(std::move(impl)));
}

Result<std::unique_ptr<MasterWorld>> MasterWorld::Join(MasterWorldOptions options,
                                                       std::chrono::milliseconds timeout) {
  const Deadline deadline = Deadline::After(timeout);
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<Impl> impl, Impl::Create(std::move(options), deadline));
  while (impl->View().revision == 0) TERN_RETURN_IF_ERROR(impl->UpdateTopology(deadline));
  return std::unique_ptr<MasterWorld>(new MasterWorld(std::move(impl)));
}

uint64_t MasterWorld::peer_id() const { return impl_->peer_id(); }
uint64_t MasterWorld::run_id() const { return impl_->run_id(); }
WorldView MasterWorld::View() const { return impl_->View(); }
uint64_t MasterWorld::AnnouncedRevision() const { return impl_->AnnouncedRevision(); }
Result<bool> MasterWorld::PeersPending(std::chrono::milliseconds) { return impl_->PeersPending(); }
Status MasterWorld::UpdateTopology(std::chrono::milliseconds timeout) {
  return impl_->UpdateTopology(Deadline::After(timeout));
}
void MasterWorld::ReportPeerFailure(uint64_t peer_id, const Status& cause) {
  impl_->ReportPeerFailure(peer_id, cause);
}
net::Listener& MasterWorld::DataListener() { return impl_->DataListener(); }
const net::Authenticator* MasterWorld::DataAuthenticator() const { return impl_->auth(); }
bool MasterWorld::MasterConnected() const { return impl_->MasterConnected(); }
Status MasterWorld::Leave(std::chrono::milliseconds timeout) {
  return impl_->Leave(Deadline::After(timeout));
}
Result<TopologyReport> MasterWorld::OptimizeTopology(std::chrono::milliseconds timeout,
                                                     size_t probe_bytes) {
  return impl_->OptimizeTopology(Deadline::After(timeout), probe_bytes);
}

}  // namespace tern
