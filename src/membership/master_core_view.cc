// MasterCore, continued: what the master knows of the run (persisted view,
// snapshots, member lists for the coordinators) and how it rebuilds that
// knowledge after a restart, probing members that have not come back
// (docs/membership_protocol.md, "Master restarts").
#include <algorithm>

#include "membership/master_core.h"
#include "util/logging.h"

namespace tern::membership {

// A re-registering peer tells what it knew; a master that lost its state
// (or has an older one) adopts the newest view reported.
void MasterCore::AdoptKnowledge(const proto::Register& r) {
  // Numbers no run reaches would overflow ours: such a report is ignored.
  constexpr uint64_t kImplausible = uint64_t{1} << 62;
  bool sane = r.next_peer_id_seen() < kImplausible && r.revision() < kImplausible &&
              r.announced_revision() < kImplausible && r.peer_id() < kImplausible;
  for (const proto::Member& m : r.members()) sane = sane && m.peer_id() < kImplausible;
  if (!sane) {
    TERN_LOG(WARNING) << "master: ignoring an implausible view reported by peer " << r.peer_id();
    return;
  }
  next_peer_id_ = std::max(next_peer_id_, r.next_peer_id_seen());
  for (const proto::Member& m : r.members()) next_peer_id_ = std::max(next_peer_id_, m.peer_id() + 1);
  revision_floor_ = std::max({revision_floor_, r.announced_revision(), r.revision()});
  // Only before this master formed any revision itself (the startup
  // recovery window): afterwards two views cannot be merged, and the peer
  // rejoins as a pending peer.
  if (r.revision() <= revision_ || r.peer_id() == 0 || revisions_formed_ > 0) return;
  // The peer knows a newer revision than we do: take its member list.
  for (uint64_t id : members_) {
    auto it = peers_.find(id);
    if (it != peers_.end()) it->second.member = false;
  }
  members_.clear();
  for (const proto::Member& m : r.members()) {
    Peer& p = peers_[m.peer_id()];
    if (p.id == 0) {
      p.id = m.peer_id();
      p.data_address = m.data_address();
      p.state_address = m.state_address();
      p.needs_state = false;
    }
    p.member = true;
    p.adopted = false;
    members_.push_back(p.id);
  }
  revision_ = r.revision();
  committed_ = r.announced_revision() == r.revision();
  TERN_LOG(INFO) << "master: adopted revision " << revision_ << " (" << members_.size()
                 << " members) reported by peer " << r.peer_id();
}

void MasterCore::MaybeEndRecovery(int64_t now, Outbox* out) {
  if (!recovering_) return;
  bool all_back = !members_.empty();
  for (uint64_t id : members_) all_back = all_back && peers_[id].conn != 0;
  if (!all_back && now < recovery_end_ms_) return;
  recovering_ = false;
  std::vector<uint64_t> missing;
  for (uint64_t id : members_) {
    if (peers_[id].conn == 0) missing.push_back(id);
  }
  if (!missing.empty()) {
    std::vector<uint64_t> keep;
    for (uint64_t id : members_) {
      if (peers_[id].conn != 0) keep.push_back(id);
    }
    for (uint64_t id : missing) {
      TERN_LOG(WARNING) << "master: dropped peer " << id
                        << " (member): did not re-register within the recovery window";
      peers_.erase(id);
      ++peers_dropped_;
    }
    members_.clear();
    FormWithPending(keep, "members missing after restart", out);
  } else if (recovery_changed_) {
    // Members were dropped (or a collective failed) during the window: the
    // survivors still hold the old member list under the old number.
    FormWithPending(members_, "members lost or a collective failed during recovery", out);
  } else if (revision_floor_ > revision_ || (!members_.empty() && !committed_)) {
    // Someone may have been told of a revision we never saw: form a new one
    // above every number that could have been used.
    FormWithPending(members_, "recovered mid-change", out);
  }
  recovery_changed_ = false;
}

void MasterCore::ProbeMissing(int64_t now, Outbox* out) {
  if (!recovering_ || now < next_probe_ms_) return;
  next_probe_ms_ = now + options_.probe_interval_ms;
  for (uint64_t id : members_) {
    Peer& p = peers_[id];
    if (p.conn != 0 || p.probing || p.state_address.empty()) continue;
    p.probing = true;
    out->probes.push_back({id, p.state_address});
  }
}

void MasterCore::OnProbeResult(uint64_t peer, bool refused, int64_t now, Outbox* out) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  Peer& p = it->second;
  p.probing = false;
  if (!refused || !p.member || p.conn != 0) return;
  // A member killed while the master was away never re-registers; without
  // this the others would wait for the whole recovery window.
  Drop(peer, "nothing listens at its state address " + p.state_address + " (process gone)", out);
  MaybeEndRecovery(now, out);
}

proto::MasterState MasterCore::Persistent() const {
  proto::MasterState s;
  s.set_run_id(options_.run_id);
  s.set_revision(revision_);
  s.set_committed(committed_);
  s.set_next_peer_id(next_peer_id_);
  for (uint64_t id : members_) {
    const Peer& p = peers_.at(id);
    proto::Member* m = s.add_members();
    m->set_peer_id(id);
    m->set_data_address(p.data_address);
    m->set_state_address(p.state_address);
  }
  return s;
}

MasterSnapshot MasterCore::Snapshot() const {
  MasterSnapshot s;
  s.run_id = options_.run_id;
  s.revision = revision_;
  s.committed = committed_;
  for (uint64_t id : members_) s.members.push_back({id, peers_.at(id).data_address});
  s.pending = PendingIds(false);
  s.next_peer_id = next_peer_id_;
  s.revisions_formed = revisions_formed_;
  s.peers_dropped = peers_dropped_;
  s.sync_rounds = sync_->rounds_completed();
  return s;
}

RoundMember MasterCore::RoundMemberOf(uint64_t id) const {
  const Peer& p = peers_.at(id);
  return {id, p.conn, p.data_address, p.state_address, p.needs_state};
}

std::vector<RoundMember> MasterCore::RoundMembers() const {
  std::vector<RoundMember> out;
  for (uint64_t id : members_) {
    out.push_back(RoundMemberOf(id));
  }
  return out;
}

std::vector<uint64_t> MasterCore::PendingIds(bool ready_only) const {
  std::vector<uint64_t> ids;
  for (const auto& [id, p] : peers_) {
    if (!p.member && (!ready_only || (p.conn != 0 && p.ready))) ids.push_back(id);
  }
  return ids;
}

}  // namespace tern::membership
