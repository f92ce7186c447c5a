// MasterCore driven directly: no sockets, time passed in by the test.
#include "membership/master_core.h"

#include <gtest/gtest.h>

namespace tern::membership {
namespace {

proto::PeerToMaster Reg(uint64_t id = 0, uint64_t revision = 0,
                        std::vector<uint64_t> members = {}, uint64_t next_seen = 0) {
  proto::PeerToMaster m;
  proto::Register* r = m.mutable_register_();
  r->set_peer_id(id);
  r->set_data_address("127.0.0.1:1");
  r->set_state_address("127.0.0.1:2");
  r->set_revision(revision);
  r->set_announced_revision(revision);
  r->set_next_peer_id_seen(next_seen);
  for (uint64_t p : members) r->add_members()->set_peer_id(p);
  return m;
}

proto::PeerToMaster Adopt(uint64_t revision) {
  proto::PeerToMaster m;
  m.mutable_adopt()->set_revision(revision);
  return m;
}

proto::PeerToMaster Vote(uint64_t revision, std::vector<uint64_t> suspects = {},
                         bool failed = false) {
  proto::PeerToMaster m;
  m.mutable_vote()->set_request_id(1);
  m.mutable_vote()->set_revision(revision);
  for (uint64_t s : suspects) m.mutable_vote()->add_suspects(s);
  m.mutable_vote()->set_failed(failed);
  return m;
}

proto::PeerToMaster Failure(uint64_t revision, uint64_t suspect = 0) {
  proto::PeerToMaster m;
  m.mutable_failure()->set_revision(revision);
  m.mutable_failure()->set_suspect(suspect);
  m.mutable_failure()->set_code(static_cast<int32_t>(StatusCode::kDataLoss));
  return m;
}

// The seq of the ping sent to `conn`, 0 if none.
uint64_t PingSeq(const Outbox& o, uint64_t conn) {
  for (const auto& [c, m] : o.sends) {
    if (c == conn && m.has_ping()) return m.ping().seq();
  }
  return 0;
}

proto::PeerToMaster Pong(uint64_t seq) {
  proto::PeerToMaster m;
  m.mutable_pong()->set_seq(seq);
  return m;
}

class MasterCoreTest : public ::testing::Test {
 protected:
  void Make(int min_peers, std::optional<proto::MasterState> loaded = std::nullopt,
            int64_t recovery_ms = 0) {
    MasterCoreOptions o;
    o.min_peers = min_peers;
    o.recovery_window_ms = recovery_ms;
    core_ = std::make_unique<MasterCore>(o, std::move(loaded), now_);
  }
  // A new peer registers and waits at its safe point (UpdateTopology).
  void Join(uint64_t conn) {
    Send(conn, Reg());
    Send(conn, Vote(0));
  }
  Outbox Send(uint64_t conn, const proto::PeerToMaster& m) {
    Outbox out;
    core_->OnMessage(conn, m, now_, &out);
    return out;
  }
  // Every member adopts the newest revision.
  void AdoptAll(const std::vector<uint64_t>& conns) {
    const uint64_t rev = core_->revision();
    for (uint64_t c : conns) Send(c, Adopt(rev));
  }
  static bool Has(const Outbox& o, uint64_t conn, proto::MasterToPeer::MsgCase kind) {
    for (const auto& [c, m] : o.sends) {
      if (c == conn && m.msg_case() == kind) return true;
    }
    return false;
  }
  int64_t now_ = 1000;
  std::unique_ptr<MasterCore> core_;
};

TEST_F(MasterCoreTest, FirstRevisionFormsAtMinPeersAndCommitsWhenAllAdopt) {
  Make(3);
  for (uint64_t c : {1, 2, 3}) Send(c, Reg());
  Send(1, Vote(0));
  Send(2, Vote(0));
  EXPECT_EQ(core_->revision(), 0u);
  Outbox o = Send(3, Vote(0));
  EXPECT_EQ(core_->revision(), 1u);
  EXPECT_TRUE(o.persist);
  EXPECT_TRUE(Has(o, 1, proto::MasterToPeer::kAnnounce));
  Send(1, Adopt(1));
  Send(2, Adopt(1));
  EXPECT_FALSE(core_->committed());
  o = Send(3, Adopt(1));
  EXPECT_TRUE(core_->committed());
  EXPECT_TRUE(Has(o, 2, proto::MasterToPeer::kCommitted));
}

TEST_F(MasterCoreTest, JoinerWaitsForAVote) {
  Make(2);
  Join(1);
  Join(2);
  AdoptAll({1, 2});
  Send(3, Reg());
  Outbox o = Send(3, Vote(0));  // the joiner waits at its safe point
  EXPECT_EQ(core_->revision(), 1u);
  EXPECT_TRUE(Has(o, 1, proto::MasterToPeer::kPending));
  o = Send(1, Vote(1));
  EXPECT_EQ(core_->revision(), 2u);
  EXPECT_TRUE(Has(o, 3, proto::MasterToPeer::kAnnounce));
  EXPECT_EQ(core_->Snapshot().members.size(), 3u);
}

TEST_F(MasterCoreTest, PeerThatNeverReachesItsSafePointIsNotAdmitted) {
  Make(2);
  Join(1);
  Join(2);
  AdoptAll({1, 2});
  Send(3, Reg());  // registered, but never calls UpdateTopology
  Outbox o = Send(1, Vote(1));
  EXPECT_EQ(core_->revision(), 1u);  // no barrier it would stall
  EXPECT_TRUE(Has(o, 1, proto::MasterToPeer::kVoteResult));
  EXPECT_EQ(core_->Snapshot().pending.size(), 1u);
}

TEST_F(MasterCoreTest, ClosedMemberIsDroppedAtOnce) {
  Make(3);
  for (uint64_t c : {1, 2, 3}) Join(c);
  AdoptAll({1, 2, 3});
  Outbox o;
  core_->OnClosed(2, now_, &o);
  EXPECT_EQ(core_->revision(), 2u);
  EXPECT_EQ(core_->Snapshot().members.size(), 2u);
  EXPECT_TRUE(Has(o, 1, proto::MasterToPeer::kAnnounce));
}

TEST_F(MasterCoreTest, SilentMemberIsDroppedAfterTheHeartbeatTimeout) {
  Make(2);
  Join(1);
  Join(2);
  AdoptAll({1, 2});
  now_ += 2500;
  proto::PeerToMaster hb;
  hb.mutable_heartbeat()->set_seq(1);
  Send(1, hb);
  Outbox o;
  core_->OnTick(now_, &o);
  EXPECT_EQ(core_->revision(), 1u);
  now_ += 600;  // peer 2 silent for 3100 ms
  core_->OnTick(now_, &o);
  EXPECT_EQ(core_->revision(), 2u);
  EXPECT_EQ(core_->Snapshot().members.size(), 1u);
  EXPECT_EQ(o.closes, std::vector<uint64_t>{2});
}

TEST_F(MasterCoreTest, SuspectThatAnswersThePingStaysInANewRevisionUntilReportedAgain) {
  Make(3);
  for (uint64_t c : {1, 2, 3}) Join(c);
  AdoptAll({1, 2, 3});
  Outbox o = Send(1, Vote(1, {3}));
  const uint64_t seq = PingSeq(o, 3);
  ASSERT_NE(seq, 0u);
  EXPECT_EQ(core_->revision(), 1u);  // the verdict first
  o = Send(3, Pong(seq));
  // Alive, but peer 1's collective failed: the same members in a new
  // revision, whose announce answers the vote.
  EXPECT_EQ(core_->revision(), 2u);
  EXPECT_EQ(core_->Snapshot().members.size(), 3u);
  for (uint64_t c : {1, 2, 3}) EXPECT_TRUE(Has(o, c, proto::MasterToPeer::kAnnounce)) << c;
  AdoptAll({1, 2, 3});
  now_ += 5000;
  Send(2, Vote(2, {3}));  // reported again soon after: dropped without a ping
  EXPECT_EQ(core_->revision(), 3u);
  EXPECT_EQ(core_->Snapshot().members.size(), 2u);
}

TEST_F(MasterCoreTest, StrikeExpiresAfterTheWindow) {
  Make(3);
  for (uint64_t c : {1, 2, 3}) Join(c);
  AdoptAll({1, 2, 3});
  Outbox o = Send(1, Failure(1, 3));
  Send(3, Pong(PingSeq(o, 3)));
  EXPECT_EQ(core_->revision(), 2u);
  AdoptAll({1, 2, 3});
  now_ += 30001;
  proto::PeerToMaster hb;
  hb.mutable_heartbeat();
  for (uint64_t c : {1, 2, 3}) Send(c, hb);
  o = Send(2, Failure(2, 3));
  EXPECT_NE(PingSeq(o, 3), 0u);  // judged afresh
  EXPECT_EQ(core_->Snapshot().members.size(), 3u);
}

TEST_F(MasterCoreTest, FailureWithoutSuspectAbortsTheRevisionOnEveryMember) {
  Make(3);
  for (uint64_t c : {1, 2, 3}) Join(c);
  AdoptAll({1, 2, 3});
  Outbox o = Send(2, Failure(1));
  EXPECT_EQ(core_->revision(), 2u);
  EXPECT_FALSE(core_->committed());
  EXPECT_EQ(core_->Snapshot().members.size(), 3u);
  for (uint64_t c : {1, 2, 3}) EXPECT_TRUE(Has(o, c, proto::MasterToPeer::kAnnounce)) << c;
  // Reports of the aborted revision (the others' collectives failing in
  // turn, a late vote) change nothing more.
  Send(1, Failure(1));
  Send(3, Failure(1, 2));
  o = Send(2, Vote(1, {}, /*failed=*/true));
  EXPECT_EQ(core_->revision(), 2u);
  EXPECT_TRUE(Has(o, 2, proto::MasterToPeer::kAnnounce));
}

TEST_F(MasterCoreTest, FailedVoteAbortsTheRevision) {
  Make(2);
  Join(1);
  Join(2);
  AdoptAll({1, 2});
  Outbox o = Send(1, Vote(1, {}, /*failed=*/true));
  EXPECT_EQ(core_->revision(), 2u);
  EXPECT_TRUE(Has(o, 1, proto::MasterToPeer::kAnnounce));
  EXPECT_FALSE(Has(o, 1, proto::MasterToPeer::kVoteResult));
}

TEST_F(MasterCoreTest, PongAfterAnotherFormationDoesNotAbortAgain) {
  Make(3);
  for (uint64_t c : {1, 2, 3}) Join(c);
  AdoptAll({1, 2, 3});
  Outbox o = Send(1, Failure(1, 3));
  const uint64_t seq = PingSeq(o, 3);
  Send(2, Failure(1));  // another member's report forms revision 2 meanwhile
  EXPECT_EQ(core_->revision(), 2u);
  Send(3, Pong(seq));
  EXPECT_EQ(core_->revision(), 2u);
}

TEST_F(MasterCoreTest, SuspectThatMissesThePingIsDropped) {
  Make(2);
  Join(1);
  Join(2);
  AdoptAll({1, 2});
  Send(1, Vote(1, {2}));
  now_ += 1001;
  Outbox o;
  core_->OnTick(now_, &o);
  EXPECT_EQ(core_->revision(), 2u);
}

TEST_F(MasterCoreTest, RestartWithStateKeepsRevisionWhenEveryoneReturns) {
  proto::MasterState s;
  s.set_revision(7);
  s.set_committed(true);
  s.set_next_peer_id(12);
  for (uint64_t id : {4, 9}) s.add_members()->set_peer_id(id);
  Make(1, s, 3000);
  Send(1, Reg(4, 7, {4, 9}));
  EXPECT_EQ(core_->revision(), 7u);
  Outbox o = Send(2, Reg(9, 7, {4, 9}));
  EXPECT_EQ(core_->revision(), 7u);  // nothing to redo: no disruption
  EXPECT_TRUE(core_->committed());
  o = Send(3, Reg());  // a new peer gets an id never used before
  EXPECT_EQ(core_->Snapshot().pending, std::vector<uint64_t>{12});
}

TEST_F(MasterCoreTest, RestartDropsMembersMissingAfterTheWindow) {
  proto::MasterState s;
  s.set_revision(7);
  s.set_committed(true);
  s.set_next_peer_id(12);
  for (uint64_t id : {4, 9, 11}) s.add_members()->set_peer_id(id);
  Make(1, s, 3000);
  Send(1, Reg(4, 7, {4, 9, 11}));
  Send(2, Reg(9, 7, {4, 9, 11}));
  Outbox o;
  now_ += 2999;
  core_->OnTick(now_, &o);
  EXPECT_EQ(core_->revision(), 7u);
  proto::PeerToMaster hb;
  hb.mutable_heartbeat();
  Send(1, hb);
  Send(2, hb);
  now_ += 2;
  core_->OnTick(now_, &o);
  EXPECT_EQ(core_->revision(), 8u);
  EXPECT_EQ(core_->Snapshot().members.size(), 2u);
}

TEST_F(MasterCoreTest, MemberReportedDeadDuringRecoveryFormsARevisionOnceTheRestAreBack) {
  proto::MasterState s;
  s.set_revision(7);
  s.set_committed(true);
  s.set_next_peer_id(12);
  for (uint64_t id : {4, 9, 11}) s.add_members()->set_peer_id(id);
  Make(1, s, 3000);
  Send(1, Reg(4, 7, {4, 9, 11}));
  Send(2, Reg(9, 7, {4, 9, 11}));
  Send(1, Failure(7, 11));  // 11 never came back and its neighbours saw it die
  Outbox o;
  core_->OnTick(now_, &o);
  // The survivors hold 7 = {4, 9, 11}: the same number must not now mean {4, 9}.
  EXPECT_EQ(core_->revision(), 8u);
  EXPECT_EQ(core_->Snapshot().members.size(), 2u);
}

TEST_F(MasterCoreTest, RefusedProbeDropsAMemberMissingAfterARestart) {
  proto::MasterState s;
  s.set_revision(7);
  s.set_committed(true);
  s.set_next_peer_id(12);
  for (uint64_t id : {4, 9, 11}) {
    proto::Member* m = s.add_members();
    m->set_peer_id(id);
    m->set_state_address("127.0.0.1:" + std::to_string(1000 + id));
  }
  Make(1, s, 3000);
  Send(1, Reg(4, 7, {4, 9, 11}));
  Send(2, Reg(9, 7, {4, 9, 11}));
  Outbox o;
  core_->OnTick(now_, &o);
  ASSERT_EQ(o.probes.size(), 1u);  // only the member not back yet
  EXPECT_EQ(o.probes[0].peer, 11u);
  EXPECT_EQ(o.probes[0].address, "127.0.0.1:1011");
  Outbox again;
  core_->OnTick(now_ + 500, &again);
  EXPECT_TRUE(again.probes.empty());  // one probe in flight at a time
  core_->OnProbeResult(11, /*refused=*/false, now_ + 500, &again);
  EXPECT_EQ(core_->revision(), 7u);  // it may be alive: keep waiting
  core_->OnTick(now_ + 700, &again);
  ASSERT_EQ(again.probes.size(), 1u);
  core_->OnProbeResult(11, /*refused=*/true, now_ + 710, &again);
  EXPECT_EQ(core_->revision(), 8u);  // long before the window ends
  EXPECT_EQ(core_->Snapshot().members.size(), 2u);
}

TEST_F(MasterCoreTest, StatelessRestartAdoptsReportedViewAndNeverReusesIds) {
  Make(1, std::nullopt, 3000);
  // The first member back reports revision 5 of {3, 8}, having seen ids up to 10.
  Send(1, Reg(3, 5, {3, 8}, 11));
  EXPECT_EQ(core_->revision(), 5u);
  Join(2);  // a new peer meanwhile
  EXPECT_EQ(core_->Snapshot().pending, std::vector<uint64_t>{11});
  Send(3, Reg(8, 5, {3, 8}, 11));
  EXPECT_EQ(core_->revision(), 5u);
  EXPECT_FALSE(core_->Snapshot().members.empty());
  // A vote admits the new peer in revision 6.
  AdoptAll({1, 3});
  Send(1, Vote(5));
  EXPECT_EQ(core_->revision(), 6u);
}

TEST_F(MasterCoreTest, MessageBeforeRegisterIsRefused) {
  Make(1);
  Outbox o = Send(1, Vote(1));
  EXPECT_TRUE(Has(o, 1, proto::MasterToPeer::kRefused));
  EXPECT_EQ(o.closes, std::vector<uint64_t>{1});
}

TEST_F(MasterCoreTest, LeaveIsAcknowledgedAndFormsARevision) {
  Make(2);
  Join(1);
  Join(2);
  AdoptAll({1, 2});
  proto::PeerToMaster leave;
  leave.mutable_leave()->set_request_id(5);
  Outbox o = Send(2, leave);
  EXPECT_TRUE(Has(o, 2, proto::MasterToPeer::kLeaveAck));
  EXPECT_EQ(core_->revision(), 2u);
}

}  // namespace
}  // namespace tern::membership
