#include "membership/topology_round.h"

#include <algorithm>

#include "membership/master_core.h"

namespace tern::membership {
namespace {
constexpr uint64_t kMaxProbeBytes = uint64_t{1} << 30;
}  // namespace

void TopologyCoordinator::OnRequest(uint64_t from, const proto::TopologyRequest& r,
                                    const std::vector<RoundMember>& members, Outbox* out) {
  if (phase_ == Phase::kMeasuring || phase_ == Phase::kSolved) {
    Finish(StatusCode::kAborted, "peer " + std::to_string(from) + " restarted topology", out);
  }
  if (phase_ == Phase::kIdle) {
    phase_ = Phase::kCollecting;
    ++round_;
    members_ = members;
    requests_.clear();
    rates_.clear();
    probe_bytes_ = std::clamp<uint64_t>(r.probe_bytes(), 1 << 16, kMaxProbeBytes);
  }
  requests_[from] = r.request_id();
  for (RoundMember& m : members_) {
    for (const RoundMember& now : members) {
      if (m.id == now.id) m.conn = now.conn;  // it may have reconnected
    }
  }
  for (const RoundMember& m : members_) {
    if (!requests_.count(m.id)) return;
  }
  phase_ = Phase::kMeasuring;
  slot_ = 0;
  for (size_t i = 0; i < members_.size(); ++i) {
    proto::MasterToPeer msg;
    proto::TopologyPlan* plan = msg.mutable_topology_plan();
    plan->set_request_id(requests_[members_[i].id]);
    plan->set_round(round_);
    plan->set_probe_bytes(probe_bytes_);
    plan->set_slot(static_cast<uint32_t>(i));
    plan->set_slots(static_cast<uint32_t>(members_.size()));
    for (const RoundMember& t : members_) {
      if (t.id == members_[i].id) continue;
      proto::Member* pm = plan->add_targets();
      pm->set_peer_id(t.id);
      pm->set_data_address(t.data_address);
      pm->set_state_address(t.state_address);
    }
    out->Send(members_[i].conn, std::move(msg));
  }
  Go(out);
}

void TopologyCoordinator::Go(Outbox* out) {
  proto::MasterToPeer msg;
  msg.mutable_topology_go()->set_round(round_);
  out->Send(members_[slot_].conn, std::move(msg));
}

std::optional<std::vector<uint64_t>> TopologyCoordinator::OnMeasured(
    uint64_t from, const proto::TopologyMeasured& m, Outbox* out) {
  if (phase_ != Phase::kMeasuring || m.round() != round_ || members_[slot_].id != from) {
    return std::nullopt;
  }
  if (m.code() != 0) {
    Finish(StatusCode::kUnavailable, "peer " + std::to_string(from) + ": " + m.message(), out);
    return std::nullopt;
  }
  for (const proto::LinkRate& r : m.rates()) {
    if (r.from_peer() == from) rates_[{r.from_peer(), r.to_peer()}] = std::max(0.0, r.mbps());
  }
  if (++slot_ < members_.size()) {
    Go(out);
    return std::nullopt;
  }
  const size_t n = members_.size();
  std::vector<std::vector<double>> rate(n, std::vector<double>(n, 0));
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      auto it = rates_.find({members_[i].id, members_[j].id});
      if (i != j && it != rates_.end()) rate[i][j] = it->second;
    }
  }
  std::vector<size_t> current(n);
  for (size_t i = 0; i < n; ++i) current[i] = i;
  const RingSolution best = BestRing(rate);
  result_ = proto::TopologyResult();
  result_.set_previous_bottleneck_mbps(RingBottleneck(rate, current));
  result_.set_bottleneck_mbps(best.bottleneck);
  result_.set_exact(best.exact);
  for (const auto& [pair, mbps] : rates_) {
    proto::LinkRate* lr = result_.add_rates();
    lr->set_from_peer(pair.first);
    lr->set_to_peer(pair.second);
    lr->set_mbps(mbps);
  }
  std::vector<uint64_t> ring;
  for (size_t i : best.order) ring.push_back(members_[i].id);
  for (uint64_t id : ring) result_.add_ring(id);
  phase_ = Phase::kSolved;
  return ring;
}

void TopologyCoordinator::Announced(uint64_t revision, Outbox* out) {
  if (phase_ != Phase::kSolved) return;
  result_.set_revision(revision);
  for (const RoundMember& m : members_) {
    proto::MasterToPeer msg;
    *msg.mutable_topology_result() = result_;
    msg.mutable_topology_result()->set_request_id(requests_[m.id]);
    out->Send(m.conn, std::move(msg));
  }
  phase_ = Phase::kIdle;
}

void TopologyCoordinator::Abort(StatusCode code, const std::string& why, Outbox* out) {
  if (phase_ == Phase::kCollecting || phase_ == Phase::kMeasuring) Finish(code, why, out);
}

void TopologyCoordinator::Finish(StatusCode code, const std::string& why, Outbox* out) {
  for (const RoundMember& m : members_) {
    auto it = requests_.find(m.id);
    if (it == requests_.end()) continue;
    proto::MasterToPeer msg;
    proto::TopologyResult* r = msg.mutable_topology_result();
    r->set_request_id(it->second);
    r->set_code(static_cast<int32_t>(code));
    r->set_message(why);
    out->Send(m.conn, std::move(msg));
  }
  phase_ = Phase::kIdle;
}

}  // namespace tern::membership
