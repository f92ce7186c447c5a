// MasterCore: the master's state machine, without any I/O
// (docs/membership_protocol.md, "Master state machine").
//
// Inputs are events: a message from an authenticated connection, a closed
// connection, the passage of time. Outputs go to an Outbox: messages to
// send, connections to close, and whether the persistent view changed (the
// server writes it to --state-dir *before* sending anything, so a revision
// is never announced that a restarted master could reuse). Time is passed
// in as milliseconds on a monotonic clock, so tests drive it directly.
//
// Peer lifecycle inside the master:
//   registered (pending) --formation--> member --drop--> gone
// A revision is formed when: the first peers reach min_peers; a member
// votes while peers are pending; a member is dropped (closed connection,
// heartbeat timeout, Leave, failed ping, a refused liveness probe); a
// member reports a failed collective (same members, new number, so every
// member's collective aborts); the recovery window after a restart ends
// with members missing or dropped; a topology round picks a new order.
//
// Thread-compatible: the server drives it from one thread.
#ifndef TERN_MEMBERSHIP_MASTER_CORE_H_
#define TERN_MEMBERSHIP_MASTER_CORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "membership/proto/control.pb.h"
#include "membership/sync_round.h"
#include "membership/topology_round.h"
#include "tern/master.h"

namespace tern::membership {

struct MasterCoreOptions {
  uint64_t run_id = 1;
  int64_t heartbeat_interval_ms = 500;
  int64_t heartbeat_timeout_ms = 3000;
  int64_t verdict_timeout_ms = 1000;  // a suspect's ping must be answered in this
  // A suspect that answered its ping and is reported again within this
  // window is dropped: its neighbours cannot use it even if we can reach it.
  int64_t strike_window_ms = 30000;
  // While recovering, members not back yet are probed this often (their
  // state listener: a refused connection means the process is gone).
  int64_t probe_interval_ms = 200;
  // After a start that may be a restart (state loaded, or no state dir),
  // how long to wait for the last revision's members to re-register
  // before forming revisions. 0: none (a run known to be fresh).
  int64_t recovery_window_ms = 0;
  int min_peers = 1;
  int max_peers = 1024;
};

struct Outbox {
  // A liveness probe: dial `address` (a member's state listener) and
  // report to MasterCore::OnProbeResult whether the connection was refused.
  struct Probe {
    uint64_t peer = 0;
    std::string address;
  };
  std::vector<std::pair<uint64_t, proto::MasterToPeer>> sends;  // (connection, message)
  std::vector<uint64_t> closes;  // after the sends
  std::vector<Probe> probes;
  bool persist = false;
  void Send(uint64_t conn, proto::MasterToPeer m) { sends.emplace_back(conn, std::move(m)); }
};

class MasterCore {
 public:
  // `loaded`: the view persisted by a previous master of this run, if any.
  MasterCore(MasterCoreOptions options, std::optional<proto::MasterState> loaded, int64_t now_ms);
  ~MasterCore();

  void OnMessage(uint64_t conn, const proto::PeerToMaster& m, int64_t now_ms, Outbox* out);
  void OnClosed(uint64_t conn, int64_t now_ms, Outbox* out);
  void OnTick(int64_t now_ms, Outbox* out);
  // The outcome of an Outbox::Probe: `refused` (nothing listens: the
  // process is gone) drops the member; otherwise it may be alive.
  void OnProbeResult(uint64_t peer, bool refused, int64_t now_ms, Outbox* out);
  // When OnTick next has something to do (absolute ms).
  int64_t NextDeadline() const;

  proto::MasterState Persistent() const;
  MasterSnapshot Snapshot() const;
  uint64_t revision() const { return revision_; }
  bool committed() const { return committed_; }

 private:
  struct Peer {
    uint64_t id = 0;
    uint64_t conn = 0;  // 0: not connected (a member not yet back after a restart)
    std::string data_address;
    std::string state_address;
    int64_t last_seen_ms = 0;
    bool member = false;
    bool adopted = false;      // adopted the current revision
    bool needs_state = true;   // joined since the last completed sync: does not vote
    bool ready = false;        // pending and waiting in UpdateTopology
    uint64_t ping_seq = 0;     // outstanding ping, 0 if none
    int64_t ping_deadline_ms = 0;
    uint64_t ping_revision = 0;  // the revision the failure was reported in
    int64_t strike_ms = -1;    // when it last answered a ping after a report
    bool probing = false;      // a liveness probe is in flight
  };

  // Messages.
  void OnRegister(uint64_t conn, const proto::Register& r, int64_t now, Outbox* out);
  void OnVote(Peer& p, const proto::Vote& v, int64_t now, Outbox* out);
  void OnAdopt(Peer& p, const proto::Adopt& a, Outbox* out);
  void OnPong(Peer& p, const proto::Pong& m, int64_t now, Outbox* out);
  void OnFailure(Peer& p, const proto::FailureReport& f, int64_t now, Outbox* out);
  void OnLeave(Peer& p, const proto::Leave& l, Outbox* out);
  void Suspect(uint64_t suspect_id, uint64_t reporter, int64_t now, Outbox* out);
  bool Struck(const Peer& p, int64_t now) const;
  void AdoptKnowledge(const proto::Register& r);
  void ClearNeedsState();

  // Membership changes.
  void FormRevision(std::vector<uint64_t> members, const std::string& reason, Outbox* out);
  void FormWithPending(std::vector<uint64_t> members, const std::string& reason, Outbox* out);
  // A member's collective failed: the same members (plus waiting joiners)
  // in a new revision, so everyone's in-flight collective aborts and all
  // meet at the safe point. Deferred to the end of a recovery window.
  void AbortRevision(const std::string& reason, Outbox* out);
  void ProbeMissing(int64_t now, Outbox* out);
  void Drop(uint64_t id, const std::string& reason, Outbox* out);
  void MaybeFormInitial(Outbox* out);
  void MaybeEndRecovery(int64_t now, Outbox* out);
  void AnswerWaitingVoters(Outbox* out);
  void PushPending(Outbox* out);

  // Sends.
  void SendAnnounce(const Peer& p, Outbox* out) const;
  void SendCommitted(const Peer& p, Outbox* out) const;
  void Refuse(uint64_t conn, StatusCode code, const std::string& why, Outbox* out);

  Peer* ByConn(uint64_t conn);
  // Pending peers; `ready_only`: connected ones waiting in UpdateTopology
  // (they sent a Vote), the only ones a formation admits, so a peer that
  // registered but never reaches its safe point cannot stall the barrier.
  std::vector<uint64_t> PendingIds(bool ready_only) const;
  RoundMember RoundMemberOf(uint64_t id) const;
  std::vector<RoundMember> RoundMembers() const;

  const MasterCoreOptions options_;
  uint64_t revision_ = 0;
  uint64_t revision_floor_ = 0;  // numbers <= this may have been announced before a restart
  bool committed_ = false;
  std::vector<uint64_t> members_;  // ring order
  uint64_t next_peer_id_ = 1;
  std::map<uint64_t, Peer> peers_;         // by id
  std::map<uint64_t, uint64_t> by_conn_;   // connection -> peer id
  std::map<uint64_t, uint64_t> waiting_votes_;  // peer id -> vote request id
  bool recovering_ = false;
  int64_t recovery_end_ms_ = 0;
  // Members were dropped (or a revision aborted) during the recovery
  // window: its end must form a new revision even if the rest are back.
  bool recovery_changed_ = false;
  int64_t next_probe_ms_ = 0;
  uint32_t last_pending_pushed_ = 0;
  uint64_t ping_counter_ = 0;
  std::unique_ptr<SyncCoordinator> sync_;
  std::unique_ptr<TopologyCoordinator> topo_;
  // Counters for Snapshot.
  uint64_t revisions_formed_ = 0;
  uint64_t peers_dropped_ = 0;
};

}  // namespace tern::membership

#endif  // TERN_MEMBERSHIP_MASTER_CORE_H_
