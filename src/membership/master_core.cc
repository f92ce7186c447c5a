#include "membership/master_core.h"

#include <algorithm>

#include "util/logging.h"

namespace tern::membership {
namespace {

proto::MasterToPeer Refusal(StatusCode code, const std::string& why) {
  proto::MasterToPeer m;
  m.mutable_refused()->set_code(static_cast<int32_t>(code));
  m.mutable_refused()->set_message(why);
  return m;
}

}  // namespace

MasterCore::MasterCore(MasterCoreOptions options, std::optional<proto::MasterState> loaded,
                       int64_t now_ms)
    : options_(options),
      sync_(std::make_unique<SyncCoordinator>()),
      topo_(std::make_unique<TopologyCoordinator>()) {
  if (loaded) {
    revision_ = loaded->revision();
    revision_floor_ = revision_;
    committed_ = loaded->committed();
    next_peer_id_ = std::max<uint64_t>(1, loaded->next_peer_id());
    for (const proto::Member& m : loaded->members()) {
      Peer p;
      p.id = m.peer_id();
      p.data_address = m.data_address();
      p.state_address = m.state_address();
      p.member = true;
      p.needs_state = false;
      peers_[p.id] = p;
      members_.push_back(p.id);
    }
  }
  // Every restart opens a recovery window: members of the last revision
  // (known from the state dir, or from the first peers that re-register)
  // get this long to come back before the master forms a revision without
  // them.
  recovering_ = options_.recovery_window_ms > 0;
  recovery_end_ms_ = now_ms + options_.recovery_window_ms;
}

MasterCore::~MasterCore() = default;

void MasterCore::OnMessage(uint64_t conn, const proto::PeerToMaster& m, int64_t now,
                           Outbox* out) {
  if (m.has_register_()) {
    OnRegister(conn, m.register_(), now, out);
    return;
  }
  Peer* p = ByConn(conn);
  if (p == nullptr) {
    Refuse(conn, StatusCode::kFailedPrecondition, "first message must be Register", out);
    return;
  }
  p->last_seen_ms = now;
  switch (m.msg_case()) {
    case proto::PeerToMaster::kHeartbeat: {
      proto::MasterToPeer ack;
      ack.mutable_heartbeat_ack()->set_seq(m.heartbeat().seq());
      out->Send(conn, std::move(ack));
      break;
    }
    case proto::PeerToMaster::kPong: OnPong(*p, m.pong(), now, out); break;
    case proto::PeerToMaster::kVote: OnVote(*p, m.vote(), now, out); break;
    case proto::PeerToMaster::kAdopt: OnAdopt(*p, m.adopt(), out); break;
    case proto::PeerToMaster::kFailure: OnFailure(*p, m.failure(), now, out); break;
    case proto::PeerToMaster::kLeave: OnLeave(*p, m.leave(), out); break;
    case proto::PeerToMaster::kSyncRequest: {
      const proto::SyncRequest& r = m.sync_request();
      if (!p->member || !committed_ || r.revision() != revision_) {
        proto::MasterToPeer res;
        res.mutable_sync_result()->set_request_id(r.request_id());
        const bool newer = p->member && r.revision() < revision_;
        res.mutable_sync_result()->set_code(static_cast<int32_t>(
            newer || !committed_ ? StatusCode::kAborted : StatusCode::kFailedPrecondition));
        res.mutable_sync_result()->set_message(
            "sync at revision " + std::to_string(r.revision()) + ": the master is at revision " +
            std::to_string(revision_) + (committed_ ? "" : " (not yet adopted by all)"));
        out->Send(conn, std::move(res));
        if (p->member) SendAnnounce(*p, out);
        break;
      }
      sync_->OnRequest(p->id, r, RoundMembers(), out);
      ClearNeedsState();
      break;
    }
    case proto::PeerToMaster::kSyncDone:
      sync_->OnDone(p->id, m.sync_done(), out);
      ClearNeedsState();
      break;
    case proto::PeerToMaster::kSyncCancel: sync_->OnCancel(p->id, m.sync_cancel(), out); break;
    case proto::PeerToMaster::kTopologyRequest:
      if (!p->member || !committed_ || m.topology_request().revision() != revision_) {
        proto::MasterToPeer res;
        res.mutable_topology_result()->set_request_id(m.topology_request().request_id());
        res.mutable_topology_result()->set_code(static_cast<int32_t>(StatusCode::kAborted));
        res.mutable_topology_result()->set_message("revision changed");
        out->Send(conn, std::move(res));
        break;
      }
      topo_->OnRequest(p->id, m.topology_request(), RoundMembers(), out);
      break;
    case proto::PeerToMaster::kTopologyMeasured: {
      std::optional<std::vector<uint64_t>> ring =
          topo_->OnMeasured(p->id, m.topology_measured(), out);
      if (ring) {
        FormRevision(*ring, "topology", out);
        topo_->Announced(revision_, out);
      }
      break;
    }
    default:
      Refuse(conn, StatusCode::kInvalidArgument, "unknown or empty message", out);
      Drop(p->id, "protocol violation", out);
  }
}

void MasterCore::ClearNeedsState() {
  for (uint64_t id : sync_->TakeCompleted()) {
    auto it = peers_.find(id);
    if (it != peers_.end()) it->second.needs_state = false;
  }
}

void MasterCore::OnRegister(uint64_t conn, const proto::Register& r, int64_t now, Outbox* out) {
  if (ByConn(conn) != nullptr) {
    Refuse(conn, StatusCode::kFailedPrecondition, "registered twice on one connection", out);
    return;
  }
  AdoptKnowledge(r);
  uint64_t id = r.peer_id();
  if (id == 0) {
    if (static_cast<int>(peers_.size()) >= options_.max_peers) {
      Refuse(conn, StatusCode::kFailedPrecondition,
             "the master is full (" + std::to_string(options_.max_peers) + " peers)", out);
      return;
    }
    id = next_peer_id_++;
    out->persist = true;
  } else if (id >= (uint64_t{1} << 62)) {
    Refuse(conn, StatusCode::kInvalidArgument, "implausible peer id", out);
    return;
  } else if (id >= next_peer_id_) {
    next_peer_id_ = id + 1;
    out->persist = true;
  }
  Peer& p = peers_[id];
  if (p.conn != 0 && p.conn != conn) {
    // The peer reconnected before we noticed its old connection die.
    by_conn_.erase(p.conn);
    out->closes.push_back(p.conn);
  }
  const bool known = p.id != 0;
  p.id = id;
  p.conn = conn;
  if (!p.member) p.ready = false;  // until its UpdateTopology votes on this connection
  p.data_address = r.data_address();
  p.state_address = r.state_address();
  p.last_seen_ms = now;
  if (!known) p.needs_state = true;
  by_conn_[conn] = id;

  proto::MasterToPeer ack;
  ack.mutable_register_ack()->set_peer_id(id);
  ack.mutable_register_ack()->set_heartbeat_interval_ms(options_.heartbeat_interval_ms);
  ack.mutable_register_ack()->set_heartbeat_timeout_ms(options_.heartbeat_timeout_ms);
  ack.mutable_register_ack()->set_next_peer_id(next_peer_id_);
  out->Send(conn, std::move(ack));
  TERN_LOG(INFO) << "master: peer " << id << (p.member ? " (member) " : " (pending) ")
                 << "registered from " << p.data_address;
  if (p.member) {
    SendAnnounce(p, out);
    if (committed_) SendCommitted(p, out);
  }
  PushPending(out);
  proto::MasterToPeer pend;
  pend.mutable_pending()->set_count(last_pending_pushed_);
  out->Send(conn, std::move(pend));
  MaybeEndRecovery(now, out);
  MaybeFormInitial(out);
}

void MasterCore::MaybeFormInitial(Outbox* out) {
  if (!members_.empty() || recovering_) return;
  std::vector<uint64_t> pending = PendingIds(true);
  const size_t need = revision_ == 0 ? static_cast<size_t>(std::max(1, options_.min_peers)) : 1;
  if (pending.size() >= need) FormRevision(pending, "first peers", out);
}

void MasterCore::OnVote(Peer& p, const proto::Vote& v, int64_t now, Outbox* out) {
  if (!p.member && !p.ready) {
    // A pending peer's vote says it waits at its safe point: admit it at
    // the next formation (and now, if it completes the first peers).
    p.ready = true;
    PushPending(out);
    MaybeFormInitial(out);
  }
  if (!p.member || v.revision() != revision_ || !committed_) {
    // A member that is behind must adopt the newest revision first (the
    // announce makes its UpdateTopology do so).
    if (p.member) SendAnnounce(p, out);
    proto::MasterToPeer res;
    res.mutable_vote_result()->set_request_id(v.request_id());
    out->Send(p.conn, std::move(res));
    return;
  }
  waiting_votes_[p.id] = v.request_id();
  for (uint64_t s : v.suspects()) Suspect(s, p.id, now, out);
  if (waiting_votes_.empty()) return;  // a revision was formed: the announce answers
  if (v.failed()) {
    // Its FailureReport was lost with a master connection (a report that
    // arrived came first on the same connection and already formed a new
    // revision, so this vote would be stale): the same verdict, once.
    AbortRevision("a collective failed on peer " + std::to_string(p.id), out);
    if (waiting_votes_.empty()) return;
  }
  if (!PendingIds(true).empty()) {
    FormWithPending(members_, "join", out);
    return;
  }
  AnswerWaitingVoters(out);
}

void MasterCore::AnswerWaitingVoters(Outbox* out) {
  for (const auto& [id, ping] : peers_) {
    if (ping.ping_seq != 0) return;  // a verdict is outstanding
  }
  for (const auto& [id, request] : waiting_votes_) {
    auto it = peers_.find(id);
    if (it == peers_.end() || it->second.conn == 0) continue;
    proto::MasterToPeer res;
    res.mutable_vote_result()->set_request_id(request);
    out->Send(it->second.conn, std::move(res));
  }
  waiting_votes_.clear();
}

void MasterCore::OnFailure(Peer& p, const proto::FailureReport& f, int64_t now, Outbox* out) {
  // A report from an older revision is moot: the newer one already aborts
  // every collective of it.
  if (!p.member || f.revision() != revision_) return;
  TERN_LOG(INFO) << "master: peer " << p.id << " reports a failed collective at revision "
                 << revision_ << " (suspect " << f.suspect() << "): " << f.message();
  auto it = peers_.find(f.suspect());
  if (f.suspect() != p.id && it != peers_.end() && it->second.member) {
    Suspect(f.suspect(), p.id, now, out);  // the verdict forms the revision
    return;
  }
  AbortRevision("a collective failed on peer " + std::to_string(p.id), out);
}

void MasterCore::AbortRevision(const std::string& reason, Outbox* out) {
  if (recovering_) {
    recovery_changed_ = true;
    return;
  }
  FormWithPending(members_, reason, out);
}

bool MasterCore::Struck(const Peer& p, int64_t now) const {
  return p.strike_ms >= 0 && now - p.strike_ms <= options_.strike_window_ms;
}

void MasterCore::Suspect(uint64_t suspect_id, uint64_t reporter, int64_t now, Outbox* out) {
  auto it = peers_.find(suspect_id);
  if (it == peers_.end() || !it->second.member || suspect_id == reporter) return;
  Peer& s = it->second;
  if (s.conn == 0 || Struck(s, now)) {
    Drop(suspect_id, "reported failed by peer " + std::to_string(reporter) +
                         (s.conn == 0 ? " while disconnected" : " again"), out);
    return;
  }
  s.ping_revision = revision_;  // the pong aborts the newest reported revision
  if (s.ping_seq != 0) return;
  s.ping_seq = ++ping_counter_;
  s.ping_deadline_ms = now + options_.verdict_timeout_ms;
  proto::MasterToPeer ping;
  ping.mutable_ping()->set_seq(s.ping_seq);
  out->Send(s.conn, std::move(ping));
}

void MasterCore::OnPong(Peer& p, const proto::Pong& m, int64_t now, Outbox* out) {
  if (p.ping_seq == 0 || m.seq() != p.ping_seq) return;
  p.ping_seq = 0;
  p.strike_ms = now;  // alive, but reported: another report soon drops it
  // The reporter's collective failed all the same: unless a revision was
  // formed since, abort this one so the members that completed the
  // operation do not wait in their next one until its deadline.
  if (p.member && revision_ == p.ping_revision) {
    AbortRevision("peer " + std::to_string(p.id) + " was reported failed and answers", out);
  }
  AnswerWaitingVoters(out);
}

void MasterCore::OnAdopt(Peer& p, const proto::Adopt& a, Outbox* out) {
  if (a.revision() > revision_) {
    // It was told of a revision this master never saw (lost in a restart).
    revision_floor_ = std::max(revision_floor_, a.revision());
    if (!recovering_) FormWithPending(members_, "unknown revision adopted", out);
    return;
  }
  if (!p.member) return;
  if (a.revision() < revision_) {
    SendAnnounce(p, out);
    return;
  }
  if (committed_) {
    SendCommitted(p, out);
    return;
  }
  p.adopted = true;
  for (uint64_t id : members_) {
    if (!peers_[id].adopted) return;
  }
  committed_ = true;
  out->persist = true;
  TERN_LOG(INFO) << "master: revision " << revision_ << " committed by " << members_.size()
                 << " members";
  for (uint64_t id : members_) SendCommitted(peers_[id], out);
}

void MasterCore::OnLeave(Peer& p, const proto::Leave& l, Outbox* out) {
  proto::MasterToPeer ack;
  ack.mutable_leave_ack()->set_request_id(l.request_id());
  out->Send(p.conn, std::move(ack));
  Drop(p.id, "left", out);
}

void MasterCore::OnClosed(uint64_t conn, int64_t, Outbox* out) {
  auto it = by_conn_.find(conn);
  if (it == by_conn_.end()) return;
  const uint64_t id = it->second;
  Drop(id, "connection closed", out);
}

void MasterCore::OnTick(int64_t now, Outbox* out) {
  std::vector<std::pair<uint64_t, std::string>> drops;
  for (auto& [id, p] : peers_) {
    if (p.conn == 0 && !recovering_) {
      drops.emplace_back(id, "did not re-register after a master restart");
    } else if (p.conn != 0 && now - p.last_seen_ms > options_.heartbeat_timeout_ms) {
      drops.emplace_back(id, "no heartbeat for " + std::to_string(now - p.last_seen_ms) + " ms");
    } else if (p.ping_seq != 0 && now >= p.ping_deadline_ms) {
      drops.emplace_back(id, "did not answer a ping after a failure report");
    }
  }
  for (const auto& [id, why] : drops) Drop(id, why, out);
  if (!drops.empty()) AnswerWaitingVoters(out);
  ProbeMissing(now, out);
  MaybeEndRecovery(now, out);
  MaybeFormInitial(out);
}

int64_t MasterCore::NextDeadline() const {
  int64_t next = INT64_MAX;
  for (const auto& [id, p] : peers_) {
    if (p.conn != 0) next = std::min(next, p.last_seen_ms + options_.heartbeat_timeout_ms + 1);
    if (p.ping_seq != 0) next = std::min(next, p.ping_deadline_ms);
  }
  if (recovering_) next = std::min({next, recovery_end_ms_, next_probe_ms_});
  return next;
}

void MasterCore::Drop(uint64_t id, const std::string& reason, Outbox* out) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return;
  Peer p = it->second;
  peers_.erase(it);
  waiting_votes_.erase(id);
  ++peers_dropped_;
  if (p.conn != 0) {
    by_conn_.erase(p.conn);
    out->closes.push_back(p.conn);
  }
  TERN_LOG(WARNING) << "master: dropped peer " << id << (p.member ? " (member)" : " (pending)")
                    << ": " << reason;
  if (!p.member) {
    PushPending(out);
    return;
  }
  std::vector<uint64_t> rest;
  for (uint64_t m : members_) {
    if (m != id) rest.push_back(m);
  }
  if (recovering_) {
    // Still waiting for the others to come back: shrink quietly; the end
    // of recovery forms the revision.
    members_ = rest;
    recovery_changed_ = true;
    return;
  }
  FormWithPending(rest, "member lost", out);
}

void MasterCore::FormWithPending(std::vector<uint64_t> members, const std::string& reason,
                                 Outbox* out) {
  for (uint64_t id : PendingIds(true)) members.push_back(id);
  FormRevision(std::move(members), reason, out);
}

void MasterCore::FormRevision(std::vector<uint64_t> members, const std::string& reason,
                              Outbox* out) {
  sync_->Abort(StatusCode::kAborted, "revision changed (" + reason + ")", out);
  topo_->Abort(StatusCode::kAborted, "revision changed (" + reason + ")", out);
  const std::set<uint64_t> before(members_.begin(), members_.end());
  for (uint64_t id : members_) {
    auto it = peers_.find(id);
    if (it != peers_.end()) it->second.member = false;
  }
  revision_ = std::max(revision_, revision_floor_) + 1;
  revision_floor_ = revision_;
  members_ = std::move(members);
  committed_ = false;
  ++revisions_formed_;
  out->persist = true;
  for (uint64_t id : members_) {
    Peer& p = peers_[id];
    // A joiner (pending until now) gets the state; it does not vote on it.
    if (before.count(id) == 0) p.needs_state = true;
    p.member = true;
    p.ready = false;
    p.adopted = false;
  }
  TERN_LOG(INFO) << "master: revision " << revision_ << " (" << reason << "): "
                 << members_.size() << " members";
  waiting_votes_.clear();
  for (uint64_t id : members_) SendAnnounce(peers_[id], out);
  PushPending(out);
  if (members_.empty()) committed_ = true;
}

void MasterCore::PushPending(Outbox* out) {
  const auto count = static_cast<uint32_t>(PendingIds(true).size());
  if (count == last_pending_pushed_) return;
  last_pending_pushed_ = count;
  for (uint64_t id : members_) {
    const Peer& p = peers_[id];
    if (p.conn == 0) continue;
    proto::MasterToPeer m;
    m.mutable_pending()->set_count(count);
    out->Send(p.conn, std::move(m));
  }
}

void MasterCore::SendAnnounce(const Peer& p, Outbox* out) const {
  if (p.conn == 0) return;
  proto::MasterToPeer m;
  proto::Announce* a = m.mutable_announce();
  a->set_revision(revision_);
  a->set_next_peer_id(next_peer_id_);
  for (uint64_t id : members_) {
    const Peer& q = peers_.at(id);
    proto::Member* pm = a->add_members();
    pm->set_peer_id(id);
    pm->set_data_address(q.data_address);
    pm->set_state_address(q.state_address);
  }
  out->Send(p.conn, std::move(m));
}

void MasterCore::SendCommitted(const Peer& p, Outbox* out) const {
  if (p.conn == 0) return;
  proto::MasterToPeer m;
  m.mutable_committed()->set_revision(revision_);
  out->Send(p.conn, std::move(m));
}

void MasterCore::Refuse(uint64_t conn, StatusCode code, const std::string& why, Outbox* out) {
  TERN_LOG(WARNING) << "master: refusing connection " << conn << ": " << why;
  out->Send(conn, Refusal(code, why));
  out->closes.push_back(conn);
}

MasterCore::Peer* MasterCore::ByConn(uint64_t conn) {
  auto it = by_conn_.find(conn);
  if (it == by_conn_.end()) return nullptr;
  return &peers_.at(it->second);
}

}  // namespace tern::membership
