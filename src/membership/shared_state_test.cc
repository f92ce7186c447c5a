// SharedState with an in-process master and peers as threads.
#include "tern/shared_state.h"

#include <gtest/gtest.h>

#include <thread>

#include "tern/master.h"
#include "util/clock.h"

namespace tern {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kTimeout{10000};

struct Peer {
  std::unique_ptr<MasterWorld> world;
  std::unique_ptr<SharedState> state;
  std::vector<float> params;
  std::vector<float> momentum;
  uint64_t step = 0;
  std::string meta;
};

void JoinPeer(Peer& p, const MasterWorldOptions& o, size_t n) {
  auto w = MasterWorld::Join(o, kTimeout);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  p.world = std::move(*w);
  auto s = SharedState::Create(p.world.get());
  ASSERT_TRUE(s.ok());
  p.state = std::move(*s);
  p.params.assign(n, 1.0f);
  p.momentum.assign(n, 0.0f);
  ASSERT_TRUE(p.state->RegisterTensor("params", TensorView::Of(p.params)).ok());
  ASSERT_TRUE(p.state->RegisterTensor("momentum", TensorView::Of(p.momentum)).ok());
  ASSERT_TRUE(p.state->RegisterU64("step", &p.step).ok());
  ASSERT_TRUE(p.state->RegisterBytes("meta", &p.meta, 1024).ok());
}

// Runs SyncSharedState on every peer at once; returns the reports.
std::vector<Result<SyncReport>> SyncAll(std::vector<Peer*> peers) {
  std::vector<Result<SyncReport>> out(peers.size(), InternalError("not run"));
  std::vector<std::thread> ts;
  for (size_t i = 0; i < peers.size(); ++i) {
    ts.emplace_back([&, i] { out[i] = peers[i]->state->SyncSharedState(kTimeout); });
  }
  for (auto& t : ts) t.join();
  return out;
}

class SharedStateTest : public ::testing::Test {
 protected:
  void StartPeers(int n, size_t numel) {
    auto m = Master::StartLocal(5, n);
    ASSERT_TRUE(m.ok());
    master_ = std::move(*m);
    peers_.resize(n);
    std::vector<std::thread> ts;
    for (int i = 0; i < n; ++i) {
      ts.emplace_back([&, i] { JoinPeer(peers_[i], master_->PeerOptions(), numel); });
    }
    for (auto& t : ts) t.join();
  }
  std::vector<Peer*> All() {
    std::vector<Peer*> v;
    for (Peer& p : peers_) v.push_back(&p);
    return v;
  }
  std::unique_ptr<Master> master_;
  std::vector<Peer> peers_;
};

TEST_F(SharedStateTest, HealthyStepMovesZeroBytes) {
  StartPeers(3, 1000);
  for (int round = 0; round < 3; ++round) {
    auto reports = SyncAll(All());
    for (auto& r : reports) {
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->bytes_sent, 0u);
      EXPECT_EQ(r->bytes_received, 0u);
      EXPECT_TRUE(r->fixed.empty());
      EXPECT_EQ(r->state_hash, reports[0]->state_hash);
    }
  }
}

TEST_F(SharedStateTest, MajorityWinsAndOnlyTheDifferingTensorMoves) {
  StartPeers(3, 4096);
  ASSERT_TRUE(SyncAll(All())[0].ok());
  // Peer 2 diverges on "params" only; the other two agree.
  Peer& odd = peers_[2];
  odd.params[17] = 42.0f;
  const uint64_t good = peers_[0].state->StateHash();
  auto reports = SyncAll(All());
  for (size_t i = 0; i < reports.size(); ++i) {
    ASSERT_TRUE(reports[i].ok()) << reports[i].status().ToString();
    EXPECT_EQ(reports[i]->state_hash, good);
  }
  EXPECT_EQ(odd.params[17], 1.0f);
  EXPECT_EQ(reports[2]->fixed, std::vector<std::string>{"params"});
  EXPECT_GE(reports[2]->bytes_received, 4096u * 4);
  EXPECT_LT(reports[2]->bytes_received, 4096u * 4 + 1024);  // momentum did not move
  EXPECT_EQ(reports[0]->bytes_sent + reports[1]->bytes_sent, reports[2]->bytes_received);
  for (Peer& p : peers_) EXPECT_EQ(p.state->StateHash(), good);
}

TEST_F(SharedStateTest, TieGoesToTheLowestPeerId) {
  StartPeers(2, 16);
  ASSERT_TRUE(SyncAll(All())[0].ok());
  Peer* low = peers_[0].world->peer_id() < peers_[1].world->peer_id() ? &peers_[0] : &peers_[1];
  Peer* high = low == &peers_[0] ? &peers_[1] : &peers_[0];
  low->step = 7;
  low->meta = "low";
  high->step = 9;
  high->meta = "high";
  auto reports = SyncAll(All());
  ASSERT_TRUE(reports[0].ok()) << reports[0].status().ToString();
  EXPECT_EQ(high->step, 7u);
  EXPECT_EQ(high->meta, "low");
}

TEST_F(SharedStateTest, JoinerReceivesEverythingBeforeItsFirstStep) {
  StartPeers(2, 100000);
  for (Peer& p : peers_) {
    for (size_t i = 0; i < p.params.size(); ++i) p.params[i] = static_cast<float>(i) * 0.5f;
    p.momentum.assign(p.momentum.size(), 0.25f);
    p.step = 123;
    p.meta = "adamw lr=0.7";
  }
  ASSERT_TRUE(SyncAll(All())[0].ok());
  Peer joiner;
  std::thread t([&] { JoinPeer(joiner, master_->PeerOptions(), 100000); });
  for (Peer& p : peers_) {
    const Deadline d = Deadline::AfterMillis(5000);
    while (!*p.world->PeersPending(milliseconds(0)) && !d.Expired()) {
      std::this_thread::sleep_for(milliseconds(2));
    }
  }
  std::vector<std::thread> ts;
  for (Peer& p : peers_) {
    ts.emplace_back([&p] { ASSERT_TRUE(p.world->UpdateTopology(kTimeout).ok()); });
  }
  for (auto& x : ts) x.join();
  t.join();
  ASSERT_NE(joiner.state, nullptr);
  auto reports = SyncAll({&peers_[0], &peers_[1], &joiner});
  for (auto& r : reports) ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(reports[2]->receive_only);
  EXPECT_EQ(reports[2]->fixed.size(), 4u);
  EXPECT_EQ(joiner.step, 123u);
  EXPECT_EQ(joiner.meta, "adamw lr=0.7");
  EXPECT_EQ(joiner.params, peers_[0].params);
  EXPECT_EQ(joiner.momentum, peers_[0].momentum);
  EXPECT_EQ(joiner.state->StateHash(), peers_[0].state->StateHash());
}

TEST_F(SharedStateTest, DifferentRegistrationsAreInvalidArgumentEverywhere) {
  StartPeers(2, 8);
  uint64_t extra = 0;
  ASSERT_TRUE(peers_[1].state->RegisterU64("extra", &extra).ok());
  auto reports = SyncAll(All());
  for (auto& r : reports) EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SharedStateTest, RegistrationErrors) {
  StartPeers(1, 8);
  uint64_t v = 0;
  EXPECT_EQ(peers_[0].state->RegisterU64("step", &v).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(peers_[0].state->RegisterU64("", &v).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(peers_[0].state->RegisterU64(std::string(300, 'x'), &v).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(peers_[0].state->Unregister("nope").code(), StatusCode::kNotFound);
  EXPECT_TRUE(peers_[0].state->Unregister("step").ok());
}

TEST_F(SharedStateTest, SyncAfterANewRevisionWasAnnouncedIsAborted) {
  StartPeers(3, 8);
  ASSERT_TRUE(peers_[2].world->Leave(kTimeout).ok());
  const Deadline d = Deadline::AfterMillis(5000);
  while (peers_[0].world->AnnouncedRevision() == peers_[0].world->View().revision &&
         !d.Expired()) {
    std::this_thread::sleep_for(milliseconds(2));
  }
  auto r = peers_[0].state->SyncSharedState(kTimeout);
  EXPECT_EQ(r.status().code(), StatusCode::kAborted) << r.status().ToString();
}

}  // namespace
}  // namespace tern
