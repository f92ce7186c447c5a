// The master and MasterWorld in one process: peers as threads over
// loopback, port 0.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "tern/master.h"
#include "util/clock.h"

namespace tern {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kTimeout{10000};

std::unique_ptr<Master> StartMaster(int min_peers, MasterOptions o = {}) {
  o.secret = o.secret.empty() ? "0123456789abcdef0123456789abcdef" : o.secret;
  o.min_peers = min_peers;
  o.fresh_run = true;
  auto m = Master::Start(o);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return std::move(*m);
}

std::vector<std::unique_ptr<MasterWorld>> JoinAll(const Master& master, int n) {
  std::vector<std::unique_ptr<MasterWorld>> worlds(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      auto w = MasterWorld::Join(master.PeerOptions(), kTimeout);
      ASSERT_TRUE(w.ok()) << w.status().ToString();
      worlds[i] = std::move(*w);
    });
  }
  for (auto& t : threads) t.join();
  return worlds;
}

TEST(MasterWorldTest, FirstRevisionWaitsForMinPeersAndAgrees) {
  auto master = StartMaster(3);
  auto worlds = JoinAll(*master, 3);
  ASSERT_EQ(worlds.size(), 3u);
  const WorldView v0 = worlds[0]->View();
  EXPECT_EQ(v0.revision, 1u);
  EXPECT_EQ(v0.size(), 3);
  std::set<int> ranks;
  for (auto& w : worlds) {
    WorldView v = w->View();
    EXPECT_EQ(v.revision, v0.revision);
    ASSERT_EQ(v.size(), 3);
    for (int r = 0; r < 3; ++r) EXPECT_EQ(v.peers[r].peer_id, v0.peers[r].peer_id);
    EXPECT_EQ(v.self().peer_id, w->peer_id());
    ranks.insert(v.rank);
  }
  EXPECT_EQ(ranks.size(), 3u);
  EXPECT_TRUE(master->WaitForRevision(1, kTimeout));
}

TEST(MasterWorldTest, JoinerIsAdmittedAtTheMembersSafePoint) {
  auto master = StartMaster(2);
  auto worlds = JoinAll(*master, 2);
  std::unique_ptr<MasterWorld> joiner;
  std::thread t([&] {
    auto w = MasterWorld::Join(master->PeerOptions(), kTimeout);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    joiner = std::move(*w);
  });
  // Members see the pending peer, then call the safe point.
  for (auto& w : worlds) {
    const Deadline d = Deadline::AfterMillis(5000);
    while (!*w->PeersPending(milliseconds(0)) && !d.Expired()) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    ASSERT_TRUE(*w->PeersPending(milliseconds(0)));
  }
  std::vector<std::thread> ts;
  for (auto& w : worlds) {
    ts.emplace_back([&w] { ASSERT_TRUE(w->UpdateTopology(kTimeout).ok()); });
  }
  for (auto& x : ts) x.join();
  t.join();
  for (auto& w : worlds) {
    EXPECT_EQ(w->View().revision, 2u);
    EXPECT_EQ(w->View().size(), 3);
  }
  EXPECT_EQ(joiner->View().revision, 2u);
  EXPECT_GT(joiner->peer_id(), worlds[0]->peer_id());
}

TEST(MasterWorldTest, LeaveFormsANewRevisionAndAbortsInFlightWork) {
  auto master = StartMaster(3);
  auto worlds = JoinAll(*master, 3);
  const uint64_t rev = worlds[0]->View().revision;
  ASSERT_TRUE(worlds[2]->Leave(kTimeout).ok());
  // In-flight collectives poll AnnouncedRevision and abort.
  for (int i = 0; i < 2; ++i) {
    const Deadline d = Deadline::AfterMillis(5000);
    while (worlds[i]->AnnouncedRevision() == rev && !d.Expired()) {
      std::this_thread::sleep_for(milliseconds(2));
    }
    EXPECT_GT(worlds[i]->AnnouncedRevision(), rev);
  }
  std::thread t([&] {
    Status s = worlds[1]->UpdateTopology(kTimeout);
    EXPECT_TRUE(s.ok()) << s.ToString();
  });
  Status s = worlds[0]->UpdateTopology(kTimeout);
  EXPECT_TRUE(s.ok()) << s.ToString();
  t.join();
  EXPECT_EQ(worlds[0]->View().size(), 2);
  EXPECT_EQ(worlds[0]->View().revision, worlds[1]->View().revision);
  EXPECT_EQ(worlds[2]->UpdateTopology(kTimeout).code(), StatusCode::kFailedPrecondition);
}

TEST(MasterWorldTest, WrongSecretIsPermissionDeniedOnBothSides) {
  auto master = StartMaster(1);
  MasterWorldOptions o = master->PeerOptions();
  o.secret = "not the secret, not at all";
  auto w = MasterWorld::Connect(o, kTimeout);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kPermissionDenied) << w.status().ToString();
  EXPECT_NE(w.status().message().find("secret"), std::string_view::npos) << w.status().ToString();
  // The master counts the refusal just after answering it.
  const Deadline d = Deadline::AfterMillis(2000);
  while (master->Snapshot().auth_failures == 0 && !d.Expired()) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  EXPECT_GE(master->Snapshot().auth_failures, 1u);
}

TEST(MasterWorldTest, MissingSecretIsPermissionDenied) {
  auto master = StartMaster(1);
  MasterWorldOptions o = master->PeerOptions();
  o.secret.clear();
  auto w = MasterWorld::Connect(o, kTimeout);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kPermissionDenied) << w.status().ToString();
}

TEST(MasterWorldTest, WrongRunIsFailedPrecondition) {
  auto master = StartMaster(1);
  MasterWorldOptions o = master->PeerOptions();
  o.run_id += 1;
  auto w = MasterWorld::Connect(o, kTimeout);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kFailedPrecondition) << w.status().ToString();
}

TEST(MasterWorldTest, MasterRefusesToStartWithoutSecret) {
  MasterOptions o;
  auto m = Master::Start(o);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  o.insecure = true;
  EXPECT_TRUE(Master::Start(o).ok());
}

TEST(MasterWorldTest, OptimizeTopologyMeasuresEveryLinkAndAdoptsTheRing) {
  auto master = StartMaster(3);
  auto worlds = JoinAll(*master, 3);
  const uint64_t before = worlds[0]->View().revision;
  std::vector<Result<TopologyReport>> reports(3, InternalError("not run"));
  std::vector<std::thread> ts;
  for (int i = 0; i < 3; ++i) {
    ts.emplace_back([&, i] { reports[i] = worlds[i]->OptimizeTopology(kTimeout, 1 << 20); });
  }
  for (auto& t : ts) t.join();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(reports[i].ok()) << reports[i].status().ToString();
    const TopologyReport& r = *reports[i];
    EXPECT_GT(r.revision, before);
    EXPECT_EQ(r.ring.size(), 3u);
    EXPECT_EQ(r.links.size(), 6u);
    for (const LinkBandwidth& l : r.links) EXPECT_GT(l.mbps, 0.0);
    EXPECT_GE(r.bottleneck_mbps, r.previous_bottleneck_mbps);
    EXPECT_TRUE(r.exact);
    const WorldView v = worlds[i]->View();
    EXPECT_EQ(v.revision, r.revision);
    for (size_t k = 0; k < r.ring.size(); ++k) EXPECT_EQ(v.peers[k].peer_id, r.ring[k]);
  }
}

TEST(MasterWorldTest, TlsRunWorks) {
  MasterOptions o;
  o.tls = true;
  auto master = StartMaster(2, o);
  auto worlds = JoinAll(*master, 2);
  EXPECT_EQ(worlds[0]->View().size(), 2);
  ASSERT_NE(worlds[0]->DataAuthenticator(), nullptr);
}

}  // namespace
}  // namespace tern
