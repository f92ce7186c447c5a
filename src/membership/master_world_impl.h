// MasterWorld::Impl: the peer side of the control plane behind
// tern/master.h. It keeps this peer's view of the run (adopted revision,
// newest announced revision, pending count) from what the ControlClient
// receives, implements UpdateTopology / Leave / OptimizeTopology on top
// of it, and gives SharedState what it needs: the request/reply path to
// the master and the peer service that serves state fetches.
//
// Thread-safety: all methods are thread-safe; waits use one mutex and one
// condition variable that every incoming message signals.
#ifndef TERN_MEMBERSHIP_MASTER_WORLD_IMPL_H_
#define TERN_MEMBERSHIP_MASTER_WORLD_IMPL_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "membership/auth.h"
#include "membership/control_client.h"
#include "membership/peer_service.h"
#include "membership/proto/control.pb.h"
#include "net/tcp.h"
#include "tern/master.h"
#include "util/clock.h"

namespace tern {

class MasterWorld::Impl {
 public:
  static Result<std::unique_ptr<Impl>> Create(MasterWorldOptions options, Deadline deadline);
  ~Impl();

  uint64_t peer_id() const { return client_->peer_id(); }
  uint64_t run_id() const { return options_.run_id; }
  WorldView View() const;
  uint64_t AnnouncedRevision() const { return announced_rev_.load(); }
  Result<bool> PeersPending();
  Status UpdateTopology(Deadline deadline);
  void ReportPeerFailure(uint64_t peer_id, const Status& cause);
  net::Listener& DataListener() { return *data_listener_; }
  const net::Authenticator* auth() const { return auth_.get(); }
  bool MasterConnected() const { return client_->connected(); }
  Status Leave(Deadline deadline);
  Result<TopologyReport> OptimizeTopology(Deadline deadline, size_t probe_bytes);

  // --- For SharedState ---
  membership::PeerService& service() { return *service_; }
  // State-channel addresses of the current view's members, by peer id.
  std::map<uint64_t, std::string> StateAddresses() const;
  uint64_t NextRequestId() { return ++request_counter_; }
  // The control connection's epoch (bumped by every re-registration); a
  // request sent in one epoch is lost if the epoch changes.
  uint64_t epoch() const { return client_->epoch(); }
  // Sends `m` to the master and waits until `accept` takes a reply for
  // `request_id` (sync and topology replies carry one), or the deadline
  // passes (kDeadlineExceeded), or the master connection drops
  // (kUnavailable: the request is lost with it). *epoch receives the
  // epoch the request was sent in, for later AwaitReply calls.
  using ReplyFilter = std::function<bool(const membership::proto::MasterToPeer&)>;
  Result<membership::proto::MasterToPeer> Request(const membership::proto::PeerToMaster& m,
                                                  uint64_t request_id, const ReplyFilter& accept,
                                                  Deadline deadline, uint64_t* epoch);
  // Waits for the next reply for `request_id` of a request sent in `epoch`.
  // REQUIRES: Request() was called for it and Finish() was not.
  Result<membership::proto::MasterToPeer> AwaitReply(uint64_t request_id,
                                                     const ReplyFilter& accept, Deadline deadline,
                                                     uint64_t epoch);
  // Drops the replies of a request and any that arrive later.
  void Finish(uint64_t request_id);
  void Send(const membership::proto::PeerToMaster& m) { client_->Send(m); }
  const MasterWorldOptions& options() const { return options_; }

 private:
  explicit Impl(MasterWorldOptions options);
  membership::proto::Register MakeRegister() const;
  void OnMessage(const membership::proto::MasterToPeer& m);
  void OnConnection(bool up);
  bool AnnouncedIncludesMe() const;  // REQUIRES: mu_ held
  void AdoptAnnounced();             // REQUIRES: mu_ held
  Status WaitAdmitted(Deadline deadline, std::unique_lock<std::mutex>& lock);
  Status Unreachable(const char* what) const;  // REQUIRES: mu_ held
  Result<TopologyReport> OptimizeOnce(uint64_t request, Deadline deadline, size_t probe_bytes);
  Result<std::vector<LinkBandwidth>> Measure(const membership::proto::TopologyPlan& plan,
                                             Deadline deadline);

  const MasterWorldOptions options_;
  std::unique_ptr<membership::RunAuthenticator> auth_;
  std::unique_ptr<net::Listener> data_listener_;
  std::unique_ptr<membership::PeerService> service_;
  std::unique_ptr<membership::ControlClient> client_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  WorldView view_;                                   // adopted revision
  std::vector<membership::proto::Member> view_members_;
  membership::proto::Announce announced_;            // newest announce
  uint64_t committed_ = 0;                           // newest Committed seen
  uint32_t pending_ = 0;
  uint64_t next_peer_id_seen_ = 0;
  std::set<uint64_t> suspects_;
  bool failed_ = false;  // a collective failed at view_ without blaming a peer
  std::map<uint64_t, std::vector<membership::proto::MasterToPeer>> replies_;
  std::set<uint64_t> open_requests_;  // requests whose replies are kept
  std::set<uint64_t> vote_results_;
  std::set<uint64_t> leave_acks_;
  uint64_t topology_go_round_ = 0;
  bool left_ = false;
  bool registered_ = false;
  std::atomic<uint64_t> announced_rev_{0};
  std::atomic<uint64_t> request_counter_{0};
};

}  // namespace tern

#endif  // TERN_MEMBERSHIP_MASTER_WORLD_IMPL_H_
