// SafePoint with an in-process master and workers as threads, each running
// DiLoCo on a toy model: the first sync, a joiner admitted mid-run that
// receives the replicated state, and parity at the end.
#include "train/safe_point.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tern/communicator.h"
#include "util/clock.h"

namespace tern::train {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kTimeout{20000};
constexpr int64_t kSteps = 40;
constexpr int64_t kJoinAt = 20;

struct Toy {
  std::vector<float> params = std::vector<float>(64, 0.5f), grads = std::vector<float>(64, 0);
  void Step(uint64_t peer, int64_t t) {
    for (size_t i = 0; i < params.size(); ++i) {
      const float target = static_cast<float>((peer * 7 + i + static_cast<uint64_t>(t)) % 5);
      params[i] -= 0.1f * (params[i] - target);
    }
  }
};

struct Result_ {
  uint64_t state_hash = 0;
  int64_t step = 0;
  std::vector<float> global;
  int safe_points = 0;
  bool joined = false;
};

// One worker: join, attach DiLoCo (H = 4, int8), initial safe point, then
// steps until the replicated counter reaches kSteps. Members pause at
// kJoinAt until the joiner is pending, so the join lands mid-run.
void Worker(const MasterWorldOptions& opts, bool joiner, std::atomic<bool>* pending_seen,
            Result_* out) {
  auto world = MasterWorld::Join(opts, kTimeout);
  ASSERT_TRUE(world.ok()) << world.status().ToString();
  auto comm = Communicator::Create(world->get());
  ASSERT_TRUE(comm.ok());
  auto strategy = Strategy::Create("diloco", {{"h", "4"}, {"codec", "int8"}});
  ASSERT_TRUE(strategy.ok());
  Toy toy;
  ASSERT_TRUE((*strategy)->Attach(comm->get(), world->get(), {.parameters = toy.params,
                                                             .gradients = toy.grads}).ok());
  auto sp = SafePoint::Create(world->get(), world->get(), strategy->get(), kTimeout,
                              milliseconds(60000));
  ASSERT_TRUE(sp.ok()) << sp.status().ToString();
  auto first = (*sp)->Run(/*initial=*/true);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  out->joined = first->self_joined;
  const uint64_t me = (*world)->peer_id();
  while ((*strategy)->step() < kSteps) {
    if (!joiner && (*strategy)->step() == kJoinAt && !pending_seen->load()) {
      const Deadline d = Deadline::After(kTimeout);
      while (!(*sp)->Due() && !d.Expired()) std::this_thread::sleep_for(milliseconds(2));
      pending_seen->store(true);
    }
    if ((*sp)->Due()) {
      auto r = (*sp)->Run(false);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ++out->safe_points;
    }
    toy.Step(me, (*strategy)->step());
    for (int attempt = 0;; ++attempt) {
      Status s = (*strategy)->AfterOptimizerStep({.step = (*strategy)->step(), .attempt = attempt});
      if (s.ok()) break;
      ASSERT_TRUE(RetryableAtSafePoint(s)) << s.ToString();
      ASSERT_LT(attempt, 5);
      ASSERT_TRUE((*sp)->Run(false).ok());
      ++out->safe_points;
    }
  }
  ASSERT_TRUE((*strategy)->Finish().ok());
  std::vector<std::string> blobs;  // the end: everyone is still there
  ASSERT_TRUE((*comm)->AllGatherBytes("x", &blobs, {}).ok());
  out->state_hash = (*sp)->StateHash();
  out->step = (*strategy)->step();
  out->global.resize(toy.params.size());
  ASSERT_TRUE((*strategy)->GlobalParameters(out->global).ok());
}

TEST(SafePointTest, JoinerReceivesReplicatedStateAndAllEndIdentical) {
  auto master = Master::StartLocal(3, /*min_peers=*/2);
  ASSERT_TRUE(master.ok()) << master.status().ToString();
  const MasterWorldOptions opts = (*master)->PeerOptions();
  std::atomic<bool> pending_seen{false};
  std::vector<Result_> out(3);
  std::thread a([&] { Worker(opts, false, &pending_seen, &out[0]); });
  std::thread b([&] { Worker(opts, false, &pending_seen, &out[1]); });
  // The joiner registers once the members are mid-run.
  std::thread c([&] {
    std::this_thread::sleep_for(milliseconds(200));
    Worker(opts, true, &pending_seen, &out[2]);
  });
  a.join();
  b.join();
  c.join();
  EXPECT_TRUE(pending_seen.load());
  EXPECT_FALSE(out[0].joined);
  EXPECT_TRUE(out[2].joined);
  for (const Result_& r : out) {
    EXPECT_EQ(r.step, kSteps);
    EXPECT_EQ(r.state_hash, out[0].state_hash);
    EXPECT_EQ(r.global, out[0].global);
  }
  EXPECT_GE(out[0].safe_points, 1);
}

TEST(SafePointTest, RetryableCodes) {
  EXPECT_TRUE(RetryableAtSafePoint(UnavailableError("x")));
  EXPECT_TRUE(RetryableAtSafePoint(AbortedError("x")));
  EXPECT_TRUE(RetryableAtSafePoint(DeadlineExceededError("x")));
  EXPECT_TRUE(RetryableAtSafePoint(DataLossError("x")));
  EXPECT_FALSE(RetryableAtSafePoint(InvalidArgumentError("x")));
  EXPECT_FALSE(RetryableAtSafePoint(PermissionDeniedError("x")));
}

}  // namespace
}  // namespace tern::train
