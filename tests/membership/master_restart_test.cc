// The master is not a single point of failure: killed with SIGKILL and
// restarted (with and without --state-dir), the run goes on. The master
// runs as a `tern master` process on a socket this test keeps open; the
// peers are threads of this process with communicators and shared state.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "proc.h"
#include "tern/communicator.h"
#include "tern/master.h"
#include "tern/shared_state.h"
#include "util/clock.h"

namespace tern::testing {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kTimeout{15000};
constexpr int kPeers = 3;
const char kSecret[] = "restart-test-secret-0123456789abcdef";

struct Peer {
  std::unique_ptr<MasterWorld> world;
  std::unique_ptr<Communicator> comm;
  std::unique_ptr<SharedState> state;
  std::vector<float> params = std::vector<float>(4096, 0.5f);
  uint64_t step = 0;
};

class MasterRestartTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    dir_ = TempDir();
    secret_file_ = WriteSecret(dir_, "secret", kSecret);
    listen_fd_ = ListenSocket("127.0.0.1", &address_);
    ASSERT_GE(listen_fd_, 0);
    StartMaster();
  }
  void TearDown() override {
    peers_.clear();
    master_ = Child();
    ::close(listen_fd_);
    std::filesystem::remove_all(dir_);
  }
  void StartMaster() {
    std::vector<std::string> args = {"master", "--listen-fd", std::to_string(listen_fd_),
                                     "--secret-file", secret_file_, "--min-peers",
                                     std::to_string(kPeers)};
    if (GetParam()) {
      args.push_back("--state-dir");
      args.push_back(dir_ + "/state");
    }
    master_ = Child::Start(args, listen_fd_, dir_ + "/master.log");
    ASSERT_TRUE(master_.ReadLine(milliseconds(5000)).has_value()) << "master did not start";
  }
  MasterWorldOptions Options() const {
    MasterWorldOptions o;
    o.master_address = address_;
    o.run_id = 1;
    o.secret = kSecret;
    return o;
  }
  void JoinPeer(Peer& p) {
    auto w = MasterWorld::Join(Options(), kTimeout);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    p.world = std::move(*w);
    auto c = Communicator::Create(p.world.get());
    ASSERT_TRUE(c.ok());
    p.comm = std::move(*c);
    auto s = SharedState::Create(p.world.get());
    ASSERT_TRUE(s.ok());
    p.state = std::move(*s);
    ASSERT_TRUE(p.state->RegisterTensor("params", TensorView::Of(p.params)).ok());
    ASSERT_TRUE(p.state->RegisterU64("step", &p.step).ok());
  }
  // Runs fn(peer) on every peer at once.
  template <typename Fn>
  void OnAll(Fn fn) {
    std::vector<std::thread> ts;
    for (auto& p : peers_) ts.emplace_back([&fn, &p] { fn(*p); });
    for (auto& t : ts) t.join();
  }
  void Step() {
    OnAll([](Peer& p) {
      std::vector<float> g(p.params.size(), static_cast<float>(p.world->peer_id()));
      Status s = p.comm->AllReduce(TensorView::Of(g), {.op = ReduceOp::kAvg});
      ASSERT_TRUE(s.ok()) << s.ToString();
      for (size_t i = 0; i < g.size(); ++i) p.params[i] -= 0.1f * g[i];
      ++p.step;
    });
  }
  void Sync() {
    OnAll([](Peer& p) {
      auto r = p.state->SyncSharedState(kTimeout);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->bytes_received, 0u);
    });
  }

  std::string dir_, secret_file_, address_;
  int listen_fd_ = -1;
  Child master_;
  std::vector<std::unique_ptr<Peer>> peers_;
};

TEST_P(MasterRestartTest, RunContinuesAcrossAKilledMaster) {
  for (int i = 0; i < kPeers; ++i) peers_.push_back(std::make_unique<Peer>());
  OnAll([this](Peer& p) { JoinPeer(p); });
  Step();
  Sync();
  const uint64_t revision = peers_[0]->world->View().revision;
  uint64_t max_id = 0;
  for (auto& p : peers_) max_id = std::max(max_id, p->world->peer_id());

  master_.Kill(SIGKILL);
  EXPECT_EQ(master_.Wait(), 128 + SIGKILL);
  // Collectives do not need the master.
  Step();
  Step();
  StartMaster();
  for (auto& p : peers_) {
    const Deadline d = Deadline::AfterMillis(10000);
    while (!p->world->MasterConnected() && !d.Expired()) std::this_thread::sleep_for(milliseconds(10));
    ASSERT_TRUE(p->world->MasterConnected());
  }
  // Every member came back: the revision is unchanged, ids kept.
  for (auto& p : peers_) EXPECT_EQ(p->world->View().revision, revision);
  Sync();
  Step();
  const uint64_t h = peers_[0]->state->StateHash();
  for (auto& p : peers_) EXPECT_EQ(p->state->StateHash(), h);
  EXPECT_EQ(peers_[0]->step, 4u);

  // A newcomer after the restart gets an id never used in the run, and
  // the state.
  auto joiner = std::make_unique<Peer>();
  std::thread t([&] { JoinPeer(*joiner); });
  for (auto& p : peers_) {
    const Deadline d = Deadline::AfterMillis(10000);
    while (!*p->world->PeersPending(milliseconds(0)) && !d.Expired()) {
      std::this_thread::sleep_for(milliseconds(5));
    }
  }
  OnAll([](Peer& p) { ASSERT_TRUE(p.world->UpdateTopology(kTimeout).ok()); });
  t.join();
  ASSERT_NE(joiner->state, nullptr);
  EXPECT_GT(joiner->world->peer_id(), max_id);
  EXPECT_GT(joiner->world->View().revision, revision);
  peers_.push_back(std::move(joiner));
  OnAll([](Peer& p) { ASSERT_TRUE(p.state->SyncSharedState(kTimeout).ok()); });
  EXPECT_EQ(peers_.back()->step, 4u);
  EXPECT_EQ(peers_.back()->state->StateHash(), peers_[0]->state->StateHash());
  Step();
  for (auto& p : peers_) EXPECT_EQ(p->state->StateHash(), peers_[0]->state->StateHash());
}

INSTANTIATE_TEST_SUITE_P(StateDir, MasterRestartTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "WithStateDir" : "Stateless"; });

}  // namespace
}  // namespace tern::testing
