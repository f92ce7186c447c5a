// StrategySync over an in-process master and SharedState (threads): a
// diverged replicated entry is repaired by the safe point, also for error
// feedback state, whose buffers move when the codec commits.
#include <gtest/gtest.h>

#include <barrier>
#include <latch>
#include <thread>
#include <vector>

#include "tern/algo_sync.h"
#include "tern/master.h"
#include "tests/algo/harness.h"
#include "tests/leave_together.h"

namespace tern {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kTimeout{10000};

// Runs `config` on `n` threads joined through a local master; after
// `kSteps` steps rank 1 corrupts its replicated entry `corrupt`; a safe point
// follows; returns each rank's replicated hash and the entries rank 1's
// sync repaired.
void RunAndRepair(const StrategyConfig& config, const std::string& corrupt,
                  std::vector<uint64_t>* hashes, std::vector<std::string>* fixed) {
  // Rank 1 is outvoted by 0 and 2. An odd number of steps: error feedback
  // swaps its committed buffer at every commit, so spans from Create are stale.
  constexpr int kRanks = 3, kSteps = 5;
  auto master = Master::StartLocal(/*run_id=*/9, kRanks);
  ASSERT_TRUE(master.ok()) << master.status().ToString();
  hashes->assign(kRanks, 0);
  std::barrier fence(kRanks);
  std::latch done(kRanks);
  std::vector<std::thread> threads;
  for (int r = 0; r < kRanks; ++r) {
    threads.emplace_back([&, r] {
      testing::LeaveTogether leave(done);
      auto world = MasterWorld::Join((*master)->PeerOptions(), kTimeout);
      ASSERT_TRUE(world.ok()) << world.status().ToString();
      auto comm = Communicator::Create(world->get());
      auto state = SharedState::Create(world->get());
      ASSERT_TRUE(comm.ok() && state.ok());
      testing::ToyWorker w(r, 2, 64);
      auto s = testing::MakeStrategy(config);
      ALGO_ASSERT_OK(s->Attach(comm->get(), world->get(), w.Buffers()));
      auto sync = StrategySync::Create(s.get(), state->get());
      ASSERT_TRUE(sync.ok()) << sync.status().ToString();
      ASSERT_TRUE((*sync)->SafePoint(world->get(), comm->get(), kTimeout).ok());
      for (int t = 0; t < kSteps; ++t) ALGO_ASSERT_OK(testing::ToyStep(w, *s, t, 0.1f));
      if (r == 1) {
        bool found = false;
        for (const StateTensor& t : s->State()) {
          if (t.name == corrupt) t.values[3] += 1.0f, found = true;
        }
        EXPECT_TRUE(found) << corrupt;
      }
      fence.arrive_and_wait();
      auto report = (*sync)->SafePoint(world->get(), comm->get(), kTimeout);
      ASSERT_TRUE(report.ok()) << report.status().ToString();
      if (r == 1) *fixed = report->fixed;
      (*hashes)[r] = testing::ReplicatedHash(*s);
      leave.Together();
    });
  }
  for (auto& t : threads) t.join();
}

TEST(StrategySyncTest, SafePointRepairsErrorFeedbackStateThatMovedOnCommit) {
  DataParallelOptions o;
  o.codec = "ef21(int8:block=16)";
  std::vector<uint64_t> hashes;
  std::vector<std::string> fixed;
  RunAndRepair(o, "gradient.ef.g", &hashes, &fixed);
  ASSERT_EQ(hashes.size(), 3u);
  EXPECT_EQ(hashes[0], hashes[1]);
  EXPECT_EQ(hashes[0], hashes[2]);
  EXPECT_EQ(fixed, std::vector<std::string>{"strategy/gradient.ef.g"});
}

TEST(StrategySyncTest, SafePointRepairsOuterParameters) {
  DiLoCoOptions o;
  o.sync_every = 3;
  std::vector<uint64_t> hashes;
  std::vector<std::string> fixed;
  RunAndRepair(o, "outer.params", &hashes, &fixed);
  ASSERT_EQ(hashes.size(), 3u);
  EXPECT_EQ(hashes[0], hashes[1]);
  EXPECT_EQ(hashes[0], hashes[2]);
  EXPECT_EQ(fixed, std::vector<std::string>{"strategy/outer.params"});
}

}  // namespace
}  // namespace tern
