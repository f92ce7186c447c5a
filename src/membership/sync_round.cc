#include "membership/sync_round.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "membership/codes.h"
#include "membership/master_core.h"
#include "membership/state_hash.h"
#include "tern/shared_state.h"

namespace tern::membership {

Elected ElectEntry(const std::vector<EntryVote>& votes) {
  const bool any_voter =
      std::any_of(votes.begin(), votes.end(), [](const EntryVote& v) { return v.voter; });
  // (hash, nbytes) -> (count, lowest peer id holding it)
  std::map<std::pair<uint64_t, uint64_t>, std::pair<size_t, uint64_t>> tally;
  for (const EntryVote& v : votes) {
    if (any_voter && !v.voter) continue;
    auto [it, inserted] = tally.try_emplace({v.hash, v.nbytes}, 0, v.peer);
    ++it->second.first;
    it->second.second = std::min(it->second.second, v.peer);
  }
  auto best = tally.begin();
  for (auto it = tally.begin(); it != tally.end(); ++it) {
    const bool more = it->second.first > best->second.first;
    const bool tie_lower =
        it->second.first == best->second.first && it->second.second < best->second.second;
    if (more || tie_lower) best = it;
  }
  return {best->first.first, best->first.second};
}

Status ValidateEntries(const google::protobuf::RepeatedPtrField<proto::StateEntry>& entries) {
  if (static_cast<size_t>(entries.size()) > SharedStateOptions::kMaxEntries) {
    return InvalidArgumentError("too many shared-state entries: " +
                                std::to_string(entries.size()));
  }
  const std::string* prev = nullptr;
  for (const proto::StateEntry& e : entries) {
    if (e.name().empty() || e.name().size() > SharedStateOptions::kMaxNameBytes) {
      return InvalidArgumentError("shared-state entry name of " +
                                  std::to_string(e.name().size()) + " bytes");
    }
    if (prev != nullptr && !(*prev < e.name())) {
      return InvalidArgumentError("shared-state entries not in strictly increasing name order");
    }
    if (e.kind() > 2 || e.dtype() > 2 || (e.kind() == 2 && e.nbytes() != 8)) {
      return InvalidArgumentError("shared-state entry '" + e.name() + "' has a bad kind or dtype");
    }
    prev = &e.name();
  }
  return OkStatus();
}

void SyncCoordinator::OnRequest(uint64_t from, const proto::SyncRequest& r,
                                const std::vector<RoundMember>& members, Outbox* out) {
  auto reply = [&](StatusCode code, const std::string& why) {
    proto::MasterToPeer m;
    proto::SyncResult* res = m.mutable_sync_result();
    res->set_request_id(r.request_id());
    res->set_code(static_cast<int32_t>(code));
    res->set_message(why);
    for (const RoundMember& rm : members) {
      if (rm.id == from) out->Send(rm.conn, std::move(m));
    }
  };
  if (Status s = ValidateEntries(r.entries()); !s.ok()) {
    reply(s.code(), std::string(s.message()));
    return;
  }
  if (phase_ == Phase::kFetching) {
    // A member asks again while a round is fetching: it abandoned that
    // round, so nobody can rely on it finishing.
    Finish(StatusCode::kAborted, "peer " + std::to_string(from) + " restarted its sync", out);
  }
  if (phase_ == Phase::kIdle) {
    phase_ = Phase::kCollecting;
    ++round_;
    parts_.clear();
    for (const RoundMember& m : members) parts_[m.id].member = m;
  }
  auto it = parts_.find(from);
  if (it == parts_.end()) {
    reply(StatusCode::kFailedPrecondition, "not a member of the sync round");
    return;
  }
  Participant& p = it->second;
  // The connection it asked on (it may have reconnected since the round began).
  for (const RoundMember& m : members) {
    if (m.id == from) p.member = m;
  }
  p.requested = true;
  p.request_id = r.request_id();
  p.fresh = r.fresh();
  p.request = r;
  for (const auto& [id, q] : parts_) {
    if (!q.requested) return;
  }
  Plan(out);
}

Status SyncCoordinator::CheckSameEntries() const {
  const Participant& first = parts_.begin()->second;
  const auto& a = first.request.entries();
  for (const auto& [id, p] : parts_) {
    const auto& b = p.request.entries();
    std::string why;
    if (a.size() != b.size()) {
      why = std::to_string(b.size()) + " entries instead of " + std::to_string(a.size());
    }
    for (int i = 0; why.empty() && i < a.size(); ++i) {
      const proto::StateEntry& x = a[i];
      const proto::StateEntry& y = b[i];
      const bool fixed_size = x.kind() != 1;
      if (x.name() != y.name() || x.kind() != y.kind() || x.dtype() != y.dtype() ||
          (fixed_size && x.nbytes() != y.nbytes())) {
        why = "entry '" + y.name() + "' differs from peer " + std::to_string(first.member.id) +
              "'s '" + x.name() + "' (name, kind, dtype or size)";
      }
    }
    if (!why.empty()) {
      return InvalidArgumentError("shared state registered differently: peer " +
                                  std::to_string(id) + " has " + why);
    }
  }
  return OkStatus();
}

void SyncCoordinator::Plan(Outbox* out) {
  if (Status s = CheckSameEntries(); !s.ok()) {
    Finish(s.code(), std::string(s.message()), out);
    return;
  }
  std::vector<Participant*> order;
  for (auto& [id, p] : parts_) order.push_back(&p);  // ascending peer id
  bool any_voter = false;
  for (Participant* p : order) any_voter = any_voter || (!p->fresh && !p->member.needs_state);
  std::map<uint64_t, proto::MasterToPeer> plans;
  std::map<uint64_t, std::set<uint64_t>> receivers;  // donor -> receivers
  bool any_fetch = false;
  const int entries = order.front()->request.entries_size();
  elected_.clear();
  for (int i = 0; i < entries; ++i) {
    std::vector<EntryVote> votes;
    for (Participant* p : order) {
      const proto::StateEntry& e = p->request.entries(i);
      votes.push_back({p->member.id, e.hash(), e.nbytes(),
                       !any_voter || (!p->fresh && !p->member.needs_state)});
    }
    const Elected won = ElectEntry(votes);
    const std::string& name = order.front()->request.entries(i).name();
    elected_[name] = won;
    std::vector<Participant*> holders;
    for (Participant* p : order) {
      const proto::StateEntry& e = p->request.entries(i);
      if (e.hash() == won.hash && e.nbytes() == won.nbytes) holders.push_back(p);
    }
    for (size_t k = 0; k < order.size(); ++k) {
      const proto::StateEntry& e = order[k]->request.entries(i);
      if (e.hash() == won.hash && e.nbytes() == won.nbytes) continue;
      // Spread receivers over holders so no single donor serves everyone.
      Participant* donor = holders[(k + static_cast<size_t>(i)) % holders.size()];
      proto::Fetch* f = plans[order[k]->member.id].mutable_sync_plan()->add_fetches();
      f->set_name(name);
      f->set_hash(won.hash);
      f->set_nbytes(won.nbytes);
      f->set_donor_peer(donor->member.id);
      f->set_donor_address(donor->member.state_address);
      receivers[donor->member.id].insert(order[k]->member.id);
      any_fetch = true;
    }
  }
  if (!any_fetch) {
    Finish(StatusCode::kOk, "", out);
    return;
  }
  phase_ = Phase::kFetching;
  for (Participant* p : order) {
    proto::MasterToPeer& m = plans[p->member.id];
    proto::SyncPlan* plan = m.mutable_sync_plan();
    plan->set_request_id(p->request_id);
    plan->set_round(round_);
    plan->set_revision(p->request.revision());
    plan->set_receive_only(any_voter && (p->fresh || p->member.needs_state));
    for (uint64_t r : receivers[p->member.id]) plan->add_receivers(r);
    out->Send(p->member.conn, std::move(m));
  }
}

void SyncCoordinator::OnDone(uint64_t peer, const proto::SyncDone& d, Outbox* out) {
  auto it = parts_.find(peer);
  if (phase_ != Phase::kFetching || d.round() != round_ || it == parts_.end()) return;
  if (d.code() != 0) {
    Finish(CodeFromWire(d.code()),
           "peer " + std::to_string(peer) + " could not fetch: " + d.message(), out);
    return;
  }
  it->second.done = true;
  it->second.result = d;
  for (const auto& [id, p] : parts_) {
    if (!p.done) return;
  }
  for (const auto& [id, p] : parts_) {
    std::map<std::string, Elected> seen;
    for (const proto::StateEntry& e : p.result.entries()) seen[e.name()] = {e.hash(), e.nbytes()};
    for (const auto& [name, want] : elected_) {
      auto s = seen.find(name);
      if (s == seen.end() || s->second.hash != want.hash || s->second.nbytes != want.nbytes) {
        Finish(StatusCode::kDataLoss,
               "peer " + std::to_string(id) + " still differs on '" + name + "' after the sync",
               out);
        return;
      }
    }
  }
  Finish(StatusCode::kOk, "", out);
}

void SyncCoordinator::OnCancel(uint64_t peer, const proto::SyncCancel& c, Outbox* out) {
  auto it = parts_.find(peer);
  if (it == parts_.end() || it->second.request_id != c.request_id()) return;
  if (phase_ == Phase::kCollecting) {
    it->second.requested = false;
  } else if (phase_ == Phase::kFetching) {
    Finish(StatusCode::kDeadlineExceeded,
           "peer " + std::to_string(peer) + " gave up on the sync round", out);
  }
}

void SyncCoordinator::Abort(StatusCode code, const std::string& why, Outbox* out) {
  if (phase_ != Phase::kIdle) Finish(code, why, out);
}

void SyncCoordinator::Finish(StatusCode code, const std::string& why, Outbox* out) {
  uint64_t state_hash = 0;
  if (code == StatusCode::kOk) {
    std::vector<std::pair<std::string, uint64_t>> hashes;
    for (const auto& [name, e] : elected_) hashes.emplace_back(name, e.hash);
    state_hash = CombineEntryHashes(hashes);
    ++rounds_completed_;
    for (const auto& [id, p] : parts_) completed_.push_back(id);
  }
  for (const auto& [id, p] : parts_) {
    if (!p.requested || p.member.conn == 0) continue;
    proto::MasterToPeer m;
    proto::SyncResult* r = m.mutable_sync_result();
    r->set_request_id(p.request_id);
    r->set_round(round_);
    r->set_code(static_cast<int32_t>(code));
    r->set_message(why);
    r->set_state_hash(state_hash);
    out->Send(p.member.conn, std::move(m));
  }
  phase_ = Phase::kIdle;
  parts_.clear();
  elected_.clear();
}

}  // namespace tern::membership
