// TopologyCoordinator: the master's side of OptimizeTopology
// (docs/membership_protocol.md, "Topology").
//
// Every member asks (TopologyRequest); the master sends each a plan (the
// other members' addresses) and then lets the members measure one sender
// at a time (TopologyGo), so probes do not compete for the same links.
// When all measured, it picks the ring maximizing the slowest link; the
// core announces it as a new revision and the coordinator tells everyone
// the result.
//
// Thread-compatible (driven by MasterCore).
#ifndef TERN_MEMBERSHIP_TOPOLOGY_ROUND_H_
#define TERN_MEMBERSHIP_TOPOLOGY_ROUND_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "membership/proto/control.pb.h"
#include "membership/sync_round.h"
#include "membership/topology_solver.h"
#include "tern/status.h"

namespace tern::membership {

class TopologyCoordinator {
 public:
  void OnRequest(uint64_t from, const proto::TopologyRequest& r,
                 const std::vector<RoundMember>& members, Outbox* out);
  // Returns the new ring (peer ids) once every member measured.
  std::optional<std::vector<uint64_t>> OnMeasured(uint64_t from, const proto::TopologyMeasured& m,
                                                  Outbox* out);
  // After the core announced the ring as `revision`: tells every member.
  void Announced(uint64_t revision, Outbox* out);
  // Ends a round in progress (not one whose result is being announced).
  void Abort(StatusCode code, const std::string& why, Outbox* out);

 private:
  enum class Phase { kIdle, kCollecting, kMeasuring, kSolved };
  void Go(Outbox* out);
  void Finish(StatusCode code, const std::string& why, Outbox* out);

  Phase phase_ = Phase::kIdle;
  uint64_t round_ = 0;
  uint64_t probe_bytes_ = 0;
  std::vector<RoundMember> members_;            // ring order at the start
  std::map<uint64_t, uint64_t> requests_;       // peer -> request id
  size_t slot_ = 0;                             // whose turn to measure
  std::map<std::pair<uint64_t, uint64_t>, double> rates_;
  proto::TopologyResult result_;
};

}  // namespace tern::membership

#endif  // TERN_MEMBERSHIP_TOPOLOGY_ROUND_H_
