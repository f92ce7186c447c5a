// MasterWorld::OptimizeTopology: the peer's side of a topology round
// (docs/membership_protocol.md, "Topology"): ask, wait for our turn,
// measure our outgoing links, report, adopt the ring the master chose.
#include "membership/codes.h"
#include "membership/frames.h"
#include "membership/master_world_impl.h"
#include "membership/proto/state.pb.h"
#include "net/blocking.h"
#include "net/handshake.h"
#include "net/tcp.h"

namespace tern {

namespace mp = membership::proto;

namespace {
constexpr size_t kProbeFrame = size_t{1} << 20;
}  // namespace

Result<std::vector<LinkBandwidth>> MasterWorld::Impl::Measure(const mp::TopologyPlan& plan,
                                                              Deadline deadline) {
  const WorldView view = View();
  std::vector<LinkBandwidth> out;
  const std::string filler(kProbeFrame, '\x5a');
  for (const mp::Member& t : plan.targets()) {
    TERN_ASSIGN_OR_RETURN(std::unique_ptr<net::Conn> conn,
                          net::TcpConnect(t.state_address(), deadline));
    net::HandshakeParams params;
    params.channel = membership::kStateChannel;
    params.run_id = options_.run_id;
    params.revision = view.revision;
    params.self_peer = peer_id();
    params.auth = auth_.get();
    TERN_RETURN_IF_ERROR(net::DialHandshake(conn, params, t.peer_id(), 0, deadline));
    const int64_t start = NowNanos();
    for (uint64_t sent = 0; sent < plan.probe_bytes();) {
      const size_t n = std::min<uint64_t>(kProbeFrame, plan.probe_bytes() - sent);
      TERN_RETURN_IF_ERROR(net::SendFrame(*conn, membership::FrameCode(membership::CpFrame::kProbeData),
                                          std::string_view(filler.data(), n), deadline));
      sent += n;
    }
    TERN_RETURN_IF_ERROR(
        net::SendFrame(*conn, membership::FrameCode(membership::CpFrame::kProbeAck), "", deadline));
    TERN_ASSIGN_OR_RETURN(net::Frame ack, net::RecvFrame(*conn, membership::kMaxDataFrame, deadline));
    mp::ProbeAck pa;
    if (ack.type != membership::FrameCode(membership::CpFrame::kProbeAck) ||
        !pa.ParseFromString(ack.payload) || pa.bytes() != plan.probe_bytes()) {
      return DataLossError("bad probe acknowledgement from peer " + std::to_string(t.peer_id()));
    }
    const double seconds = std::max(1e-9, static_cast<double>(NowNanos() - start) * 1e-9);
    out.push_back({peer_id(), t.peer_id(), static_cast<double>(plan.probe_bytes()) * 8 / seconds / 1e6});
    conn->Close();
  }
  return out;
}

Result<TopologyReport> MasterWorld::Impl::OptimizeTopology(Deadline deadline, size_t probe_bytes) {
  const uint64_t request = NextRequestId();
  Result<TopologyReport> r = OptimizeOnce(request, deadline, probe_bytes);
  Finish(request);
  if (r.ok()) TERN_RETURN_IF_ERROR(UpdateTopology(deadline));  // adopt the new ring
  return r;
}

Result<TopologyReport> MasterWorld::Impl::OptimizeOnce(uint64_t request, Deadline deadline,
                                                       size_t probe_bytes) {
  const WorldView view = View();
  if (view.revision == 0) return FailedPreconditionError("not a member of a revision yet");
  mp::PeerToMaster req;
  req.mutable_topology_request()->set_request_id(request);
  req.mutable_topology_request()->set_revision(view.revision);
  req.mutable_topology_request()->set_probe_bytes(probe_bytes);
  auto any = [](const mp::MasterToPeer&) { return true; };
  uint64_t epoch = 0;
  TERN_ASSIGN_OR_RETURN(mp::MasterToPeer first, Request(req, request, any, deadline, &epoch));
  if (first.has_topology_result()) {
    return membership::StatusFromWire(first.topology_result().code(),
                                      first.topology_result().message());
  }
  const mp::TopologyPlan plan = first.topology_plan();
  {
    std::unique_lock<std::mutex> lock(mu_);
    const bool go = cv_.wait_until(lock, deadline.when(), [&] {
      return topology_go_round_ == plan.round() || replies_.count(request) > 0 ||
             client_->epoch() != epoch;
    });
    if (!go) return Unreachable("waiting for the turn to measure links");
  }
  if (topology_go_round_ == plan.round()) {
    Result<std::vector<LinkBandwidth>> rates = Measure(plan, deadline);
    mp::PeerToMaster done;
    mp::TopologyMeasured* m = done.mutable_topology_measured();
    m->set_round(plan.round());
    if (rates.ok()) {
      for (const LinkBandwidth& r : *rates) {
        mp::LinkRate* lr = m->add_rates();
        lr->set_from_peer(r.from_peer);
        lr->set_to_peer(r.to_peer);
        lr->set_mbps(r.mbps);
      }
    } else {
      m->set_code(static_cast<int32_t>(rates.status().code()));
      m->set_message(std::string(rates.status().message()));
    }
    Send(done);
  }
  TERN_ASSIGN_OR_RETURN(mp::MasterToPeer last, AwaitReply(request, any, deadline, epoch));
  if (!last.has_topology_result()) return DataLossError("unexpected answer to a topology request");
  const mp::TopologyResult& r = last.topology_result();
  if (r.code() != 0) return membership::StatusFromWire(r.code(), r.message());
  TopologyReport report;
  report.revision = r.revision();
  report.ring.assign(r.ring().begin(), r.ring().end());
  report.bottleneck_mbps = r.bottleneck_mbps();
  report.previous_bottleneck_mbps = r.previous_bottleneck_mbps();
  report.exact = r.exact();
  for (const mp::LinkRate& lr : r.rates()) {
    report.links.push_back({lr.from_peer(), lr.to_peer(), lr.mbps()});
  }
  return report;
}

}  // namespace tern
