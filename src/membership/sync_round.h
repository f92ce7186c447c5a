// SyncCoordinator: the master's side of shared-state sync
// (docs/membership_protocol.md, "Shared-state sync").
//
// One round at a time per revision: it collects a SyncRequest (entry
// hashes) from every member, elects per entry the content most voters hold
// (ties: the lowest peer id's), sends each member a SyncPlan (what to fetch
// from whom, whom to serve), collects SyncDone (hashes after fetching),
// checks that every member now holds the elected content and ends the
// round with a SyncResult to all. Any failure ends the round on every
// member with the same code.
//
// Thread-compatible (driven by MasterCore).
#ifndef TERN_MEMBERSHIP_SYNC_ROUND_H_
#define TERN_MEMBERSHIP_SYNC_ROUND_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "membership/proto/control.pb.h"
#include "tern/status.h"

namespace tern::membership {

struct Outbox;

// What the coordinators need to know of a member.
struct RoundMember {
  uint64_t id = 0;
  uint64_t conn = 0;
  std::string data_address;
  std::string state_address;
  bool needs_state = false;  // joined since the last completed sync
};

// The election for one entry, exposed for tests.
struct EntryVote {
  uint64_t peer = 0;
  uint64_t hash = 0;
  uint64_t nbytes = 0;
  bool voter = true;
};
struct Elected {
  uint64_t hash = 0;
  uint64_t nbytes = 0;
};
// REQUIRES: at least one vote. Among voters (all, if none is a voter) the
// (hash, nbytes) held by most wins; a tie goes to the lowest peer id.
Elected ElectEntry(const std::vector<EntryVote>& votes);

// Checks one peer's reported entries: count, names (1..256 bytes, strictly
// increasing), kinds. kInvalidArgument says what is wrong.
Status ValidateEntries(const google::protobuf::RepeatedPtrField<proto::StateEntry>& entries);

class SyncCoordinator {
 public:
  // A member's request at the current (committed) revision. `members` is
  // the revision's member list.
  void OnRequest(uint64_t from, const proto::SyncRequest& r,
                 const std::vector<RoundMember>& members, Outbox* out);
  void OnDone(uint64_t peer, const proto::SyncDone& d, Outbox* out);
  void OnCancel(uint64_t peer, const proto::SyncCancel& c, Outbox* out);
  // Ends the current round (if any) on everyone still in it.
  void Abort(StatusCode code, const std::string& why, Outbox* out);

  uint64_t rounds_completed() const { return rounds_completed_; }
  // The members of rounds completed successfully since the last call
  // (their state is now the run's: they vote from now on).
  std::vector<uint64_t> TakeCompleted() { return std::move(completed_); }

 private:
  enum class Phase { kIdle, kCollecting, kFetching };
  struct Participant {
    RoundMember member;
    uint64_t request_id = 0;
    bool requested = false;
    bool fresh = false;
    bool done = false;
    proto::SyncRequest request;
    proto::SyncDone result;
  };

  void Plan(Outbox* out);
  void Finish(StatusCode code, const std::string& why, Outbox* out);
  Status CheckSameEntries() const;

  Phase phase_ = Phase::kIdle;
  uint64_t round_ = 0;  // number of the current / last round
  uint64_t rounds_completed_ = 0;
  std::map<uint64_t, Participant> parts_;  // by peer id
  std::map<std::string, Elected> elected_;
  std::vector<uint64_t> completed_;
};

}  // namespace tern::membership

#endif  // TERN_MEMBERSHIP_SYNC_ROUND_H_
