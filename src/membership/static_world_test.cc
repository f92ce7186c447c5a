#include <gtest/gtest.h>

#include <thread>

#include "net/tcp.h"
#include "tern/world.h"

namespace tern {
namespace {

using std::chrono::milliseconds;

TEST(StaticWorldTest, RendezvousGivesEveryRankTheSamePeerList) {
  constexpr int kRanks = 3;
  LocalRendezvous rdv(kRanks, 77);
  std::vector<std::unique_ptr<StaticWorld>> worlds(kRanks);
  std::vector<std::thread> threads;
  for (int r = 0; r < kRanks; ++r) {
    threads.emplace_back([&, r] {
      auto w = rdv.Join(r, milliseconds(5000));
      ASSERT_TRUE(w.ok()) << w.status().ToString();
      worlds[r] = std::move(*w);
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < kRanks; ++r) {
    ASSERT_NE(worlds[r], nullptr);
    WorldView v = worlds[r]->View();
    EXPECT_EQ(v.revision, 1u);
    EXPECT_EQ(v.rank, r);
    ASSERT_EQ(v.size(), kRanks);
    EXPECT_EQ(v.self().peer_id, static_cast<uint64_t>(r + 1));
    EXPECT_EQ(v.peers[1].data_address, worlds[0]->View().peers[1].data_address);
    EXPECT_EQ(worlds[r]->DataListener().address(), v.self().data_address);
    EXPECT_EQ(worlds[r]->run_id(), 77u);
    EXPECT_EQ(v.RankOf(3), 2);
    EXPECT_EQ(v.RankOf(99), -1);
  }
}

TEST(StaticWorldTest, RendezvousTimesOutWhenRanksAreMissing) {
  LocalRendezvous rdv(2, 1);
  EXPECT_EQ(rdv.Join(0, milliseconds(50)).status().code(), StatusCode::kDeadlineExceeded);
}

TEST(StaticWorldTest, AnnouncedRevisionIsAdoptedAtUpdateTopology) {
  StaticWorldOptions o;
  o.peers = {{1, "127.0.0.1:0"}};
  o.rank = 0;
  auto w = StaticWorld::Create(o);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ((*w)->AnnouncedRevision(), 1u);
  (*w)->AnnounceRevision(5);
  EXPECT_EQ((*w)->AnnouncedRevision(), 5u);
  EXPECT_EQ((*w)->View().revision, 1u);
  EXPECT_TRUE((*w)->UpdateTopology(milliseconds(10)).ok());
  EXPECT_EQ((*w)->View().revision, 5u);
  EXPECT_FALSE(*(*w)->PeersPending(milliseconds(10)));
}

TEST(StaticWorldTest, BadOptionsAreInvalidArgument) {
  StaticWorldOptions o;
  o.peers = {{1, "127.0.0.1:0"}, {1, "127.0.0.1:0"}};
  o.rank = 0;
  EXPECT_EQ(StaticWorld::Create(o).status().code(), StatusCode::kInvalidArgument);
  o.peers = {{1, "127.0.0.1:0"}};
  o.rank = 1;
  EXPECT_EQ(StaticWorld::Create(o).status().code(), StatusCode::kInvalidArgument);
  o.rank = 0;
  o.peers = {{1, "nonsense"}};
  EXPECT_EQ(StaticWorld::Create(o).status().code(), StatusCode::kInvalidArgument);
}

TEST(StaticWorldTest, AdoptsAnInheritedListeningSocket) {
  auto l = net::Listener::Bind("127.0.0.1:0");
  ASSERT_TRUE(l.ok());
  const std::string addr = (*l)->address();
  StaticWorldOptions o;
  o.peers = {{4, addr}};
  o.rank = 0;
  o.listen_fd = (*l)->ReleaseFd();
  auto w = StaticWorld::Create(o);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ((*w)->DataListener().address(), addr);
}

TEST(StaticWorldTest, FailureReportsAreRecorded) {
  StaticWorldOptions o;
  o.peers = {{1, "127.0.0.1:0"}};
  o.rank = 0;
  auto w = StaticWorld::Create(o);
  ASSERT_TRUE(w.ok());
  (*w)->ReportPeerFailure(3, UnavailableError("gone"));
  auto f = (*w)->ReportedFailures();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].first, 3u);
  EXPECT_EQ(f[0].second.code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace tern
