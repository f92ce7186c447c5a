// SafePoint with an in-process master and workers as threads, each running
// a strategy on a toy model: the first sync, a joiner admitted mid-run that
// receives the replicated state, and parity at the end. Run for DiLoCo and
// for data-parallel with EF21 (whose error-feedback buffers move on every
// commit, so the sync must follow them).
#include "train/safe_point.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <thread>

#include "tern/communicator.h"
#include "train/run_config.h"
#include "util/clock.h"

namespace tern::train {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kTimeout{20000};
constexpr int64_t kSteps = 40;
// Odd: an error-feedback buffer swapped on every commit is then the other
// one than at the start.
constexpr int64_t kJoinAt = 21;

// loss = 0.5 |params - target(peer, t)|^2, one SGD step of lr 0.1.
struct Toy {
  std::vector<float> params = std::vector<float>(64, 0.5f),
                     grads = std::vector<float>(64, 0);
  void Backward(uint64_t peer, int64_t t) {
    for (size_t i = 0; i < params.size(); ++i) {
      const float target =
          static_cast<float>((peer * 7 + i + static_cast<uint64_t>(t)) % 5);
      grads[i] = params[i] - target;
    }
  }
  void Sgd() {
    for (size_t i = 0; i < params.size(); ++i) params[i] -= 0.1f * grads[i];
  }
};

struct Result_ {
  uint64_t state_hash = 0;
  int64_t step = 0;
  std::vector<float> global;
  int safe_points = 0;
  bool joined = false;
};

struct Case {
  std::string strategy;
  StrategyParams params;
};

// Counts a latch down when it goes out of scope, unless already done (a
// worker that fails an assertion early must not leave the others waiting).
struct CountDownOnce {
  std::latch* latch;
  bool done = false;
  void Now() {
    if (!done) latch->count_down();
    done = true;
  }
  ~CountDownOnce() { Now(); }
};

// A joined peer with a communicator and a strategy attached to a Toy.
struct Peer {
  std::unique_ptr<MasterWorld> world;
  std::unique_ptr<Communicator> comm;
  std::unique_ptr<Strategy> strategy;
  Toy toy;
};

void JoinAndAttach(const MasterWorldOptions& opts, const Case& c, Peer* p) {
  auto world = MasterWorld::Join(opts, kTimeout);
  ASSERT_TRUE(world.ok()) << world.status().ToString();
  p->world = std::move(*world);
  auto comm = Communicator::Create(p->world.get());
  ASSERT_TRUE(comm.ok());
  p->comm = std::move(*comm);
  auto strategy = Strategy::Create(c.strategy, c.params);
  ASSERT_TRUE(strategy.ok());
  p->strategy = std::move(*strategy);
  ASSERT_TRUE(p->strategy
                  ->Attach(p->comm.get(), p->world.get(),
                           {.parameters = p->toy.params, .gradients = p->toy.grads})
                  .ok());
}

// One worker: join, attach the strategy, initial safe point, then steps
// until the replicated counter reaches kSteps. The joiner registers only
// once both members have passed their initial safe point (`started`), so
// it never joins the first revision; members admit it at kJoinAt, waiting
// there until it is pending, so the join lands mid-run at a known step.
// Workers leave together (`finished`): a worker that leaves announces a
// revision, which aborts the last collective of a worker still running it
// (the leaver cannot know whether the others finished it too).
void Worker(const Case& c, const MasterWorldOptions& opts, bool joiner,
            std::latch* started, std::latch* finished,
            std::atomic<bool>* pending_seen, Result_* out) {
  CountDownOnce leaving{finished};
  if (joiner) started->wait();
  CountDownOnce member_started{joiner ? nullptr : started, joiner};
  Peer peer;
  ASSERT_NO_FATAL_FAILURE(JoinAndAttach(opts, c, &peer));
  auto* world = &peer.world;
  auto* comm = &peer.comm;
  auto* strategy = &peer.strategy;
  Toy& toy = peer.toy;
  auto sp = SafePoint::Create(world->get(), world->get(), comm->get(),
                              strategy->get(), kTimeout, milliseconds(60000));
  ASSERT_TRUE(sp.ok()) << sp.status().ToString();
  auto first = (*sp)->Run();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  out->joined = first->self_joined;
  member_started.Now();
  const uint64_t me = (*world)->peer_id();
  while ((*strategy)->step() < kSteps) {
    if (!joiner && (*strategy)->step() == kJoinAt && !pending_seen->load()) {
      const Deadline d = Deadline::After(kTimeout);
      while (!(*sp)->Due() && !d.Expired())
        std::this_thread::sleep_for(milliseconds(2));
      pending_seen->store(true);
    }
    // Before kJoinAt members ignore the pending joiner, so the join lands
    // at kJoinAt whenever it registered.
    if ((*strategy)->step() >= kJoinAt && (*sp)->Due()) {
      auto r = (*sp)->Run();
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ++out->safe_points;
    }
    const int64_t t = (*strategy)->step();
    toy.Backward(me, t);
    // Runs a hook until it succeeds, with a safe point after each failure.
    auto run = [&](auto hook) {
      for (int attempt = 0;; ++attempt) {
        Status s = hook({.step = t, .attempt = attempt});
        if (s.ok()) return;
        ASSERT_TRUE(RetryableAtSafePoint(s)) << s.ToString();
        ASSERT_LT(attempt, 5);
        ASSERT_TRUE((*sp)->Run().ok());
        ++out->safe_points;
      }
    };
    run([&](const StepInfo& i) { return (*strategy)->AfterBackward(i); });
    toy.Sgd();
    run([&](const StepInfo& i) { return (*strategy)->AfterOptimizerStep(i); });
  }
  ASSERT_TRUE((*strategy)->Finish().ok());
  std::vector<std::string> blobs;  // the end: everyone is still there
  Status gathered = (*comm)->AllGatherBytes("x", &blobs, {});
  ASSERT_TRUE(gathered.ok()) << gathered.ToString();
  Result<uint64_t> hash = (*sp)->StateHash();
  ASSERT_TRUE(hash.ok()) << hash.status().ToString();
  out->state_hash = *hash;
  out->step = (*strategy)->step();
  out->global.resize(toy.params.size());
  ASSERT_TRUE((*strategy)->GlobalParameters(out->global).ok());
  leaving.Now();
  finished->wait();
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.strategy; }

class SafePointTest : public ::testing::TestWithParam<Case> {};

TEST_P(SafePointTest, JoinerReceivesReplicatedStateAndAllEndIdentical) {
  auto master = Master::StartLocal(3, /*min_peers=*/2);
  ASSERT_TRUE(master.ok()) << master.status().ToString();
  const MasterWorldOptions opts = (*master)->PeerOptions();
  std::atomic<bool> pending_seen{false};
  std::latch started(2), finished(3);
  std::vector<Result_> out(3);
  std::thread a([&] {
    Worker(GetParam(), opts, false, &started, &finished, &pending_seen,
           &out[0]);
  });
  std::thread b([&] {
    Worker(GetParam(), opts, false, &started, &finished, &pending_seen,
           &out[1]);
  });
  std::thread c([&] {
    Worker(GetParam(), opts, true, &started, &finished, &pending_seen, &out[2]);
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

INSTANTIATE_TEST_SUITE_P(
    Strategies, SafePointTest,
    ::testing::Values(Case{"diloco", {{"h", "4"}, {"codec", "int8"}}},
                      Case{"ddp", {{"codec", "ef21(int8:block=64)"}}}),
    [](const auto& info) { return info.param.strategy; });

// Two workers whose run configs differ in --steps: the sync elects one
// config (the lowest peer id's on a tie), and the other worker is refused
// with the field named; the elected one goes on.
TEST(SafePointConfigTest, WorkerWithADifferentRunConfigIsRefusedNamingTheField) {
  auto master = Master::StartLocal(4, /*min_peers=*/2);
  ASSERT_TRUE(master.ok()) << master.status().ToString();
  const MasterWorldOptions opts = (*master)->PeerOptions();
  std::vector<Status> out(2);
  std::latch done(2);
  auto worker = [&](int i) {
    CountDownOnce leaving{&done};
    Peer p;
    ASSERT_NO_FATAL_FAILURE(JoinAndAttach(opts, Case{"diloco", {{"h", "4"}}}, &p));
    RunConfig c;
    c.steps = i == 0 ? 100 : 200;
    c.data_dir = "/host" + std::to_string(i);  // per host: not compared
    auto sp = SafePoint::Create(p.world.get(), p.world.get(), p.comm.get(), p.strategy.get(),
                                kTimeout, milliseconds(60000), RunConfigForAgreement(c));
    ASSERT_TRUE(sp.ok()) << sp.status().ToString();
    out[i] = (*sp)->Run().status();
    leaving.Now();
    done.wait();  // the elected worker's sync must not see the other leave midway
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  ASSERT_NE(out[0].ok(), out[1].ok()) << out[0].ToString() << " / " << out[1].ToString();
  const Status& refused = out[0].ok() ? out[1] : out[0];
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("steps (this worker: "), std::string::npos) << refused.ToString();
  EXPECT_EQ(refused.message().find("data_dir"), std::string::npos) << refused.ToString();
}

TEST(SafePointCodesTest, RetryableCodes) {
  EXPECT_TRUE(RetryableAtSafePoint(UnavailableError("x")));
  EXPECT_TRUE(RetryableAtSafePoint(AbortedError("x")));
  EXPECT_TRUE(RetryableAtSafePoint(DeadlineExceededError("x")));
  EXPECT_TRUE(RetryableAtSafePoint(DataLossError("x")));
  EXPECT_FALSE(RetryableAtSafePoint(InvalidArgumentError("x")));
  EXPECT_FALSE(RetryableAtSafePoint(PermissionDeniedError("x")));
}

}  // namespace
}  // namespace tern::train
