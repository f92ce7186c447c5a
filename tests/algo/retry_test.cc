// Failed hooks leave everything as it was; a re-run after a safe point
// gives the result a clean run gives (synchronous strategies) and keeps
// replicated state identical on all ranks (all strategies). Faults come
// from announcing a new world revision on every rank (collectives then stop
// with kAborted), once every rank has left its previous collective.
#include <gtest/gtest.h>

#include <barrier>
#include <chrono>
#include <functional>
#include <vector>

#include "tests/algo/harness.h"

namespace tern {
namespace {

using std::chrono::milliseconds;
using testing::RunThreadRanks;
using testing::ToyWorker;

struct RankResult {
  std::vector<float> params, global;
  uint64_t replicated_hash = 0;
  int failed_hooks = 0;
  std::vector<int64_t> failed_steps;
};

// Runs `hook` until it succeeds, with a safe point after each failure, and
// checks that a failure changed nothing.
void RunHook(Strategy& s, StaticWorld& world, Communicator& comm, ToyWorker& w, int64_t step,
             const std::function<Status(int attempt)>& hook, RankResult* out) {
  for (int attempt = 0;; ++attempt) {
    const auto before = testing::Snapshot(s);
    const auto params_before = w.params;
    Status st = hook(attempt);
    if (st.ok()) return;
    ASSERT_LT(attempt, 3) << st.ToString();
    EXPECT_TRUE(st.code() == StatusCode::kAborted || st.code() == StatusCode::kUnavailable)
        << st.ToString();
    EXPECT_EQ(testing::Snapshot(s), before) << "a failed hook changed the strategy's state";
    EXPECT_EQ(w.params, params_before) << "a failed hook changed the parameters";
    ++out->failed_hooks;
    out->failed_steps.push_back(step);
    ALGO_ASSERT_OK(s.BeforeSafePoint());
    ALGO_ASSERT_OK(world.UpdateTopology(milliseconds(1000)));
    ALGO_ASSERT_OK(comm.Connect(milliseconds(10000)));
    ALGO_ASSERT_OK(s.AfterSafePoint());
  }
}

std::vector<RankResult> RunRanks(const StrategyConfig& config, int ranks, int steps, int fault_step,
                                 size_t per_layer) {
  std::vector<RankResult> out(ranks);
  std::barrier fence(ranks);  // every rank has left the previous op
  RunThreadRanks(ranks, [&](int r, Communicator& comm, StaticWorld& world) {
    ToyWorker w(r, 4, per_layer);
    auto s = testing::MakeStrategy(config);
    ASSERT_NE(s, nullptr);
    ALGO_ASSERT_OK(s->Attach(&comm, &world, w.Buffers()));
    for (int t = 0; t < steps; ++t) {
      if (t == fault_step) {
        ALGO_ASSERT_OK(comm.Barrier({}));
        fence.arrive_and_wait();
        world.AnnounceRevision(2);
      }
      w.Backward(t);
      RunHook(*s, world, comm, w, t,
              [&](int a) { return s->AfterBackward({.step = t, .attempt = a}); }, &out[r]);
      w.Sgd(0.05f);
      RunHook(*s, world, comm, w, t,
              [&](int a) { return s->AfterOptimizerStep({.step = t, .attempt = a}); }, &out[r]);
    }
    ALGO_ASSERT_OK(s->Finish());
    out[r].params = w.params;
    out[r].global.resize(w.params.size());
    ALGO_ASSERT_OK(s->GlobalParameters(out[r].global));
    out[r].replicated_hash = testing::ReplicatedHash(*s);
    EXPECT_EQ(s->step(), steps);
  });
  return out;
}

void ExpectParity(const std::vector<RankResult>& rs) {
  for (size_t r = 1; r < rs.size(); ++r) {
    EXPECT_EQ(rs[r].replicated_hash, rs[0].replicated_hash) << "rank " << r;
  }
}

struct Case {
  const char* name;
  StrategyConfig config;
  int fault_step;
  bool synchronous;  // a retry reproduces the clean run exactly
  int64_t surfaces_at;  // the step whose hook reports the fault
  size_t per_layer = 6;  // parameters per layer (64: 2-D [8, 8] for PowerSGD)
};

// gtest prints parameters into test names (and so into CTest's): the name.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class RetryTest : public ::testing::TestWithParam<Case> {};

TEST_P(RetryTest, FailedHookChangesNothingAndRetryKeepsParity) {
  const Case& c = GetParam();
  constexpr int kRanks = 3, kSteps = 16;
  auto clean = RunRanks(c.config, kRanks, kSteps, -1, c.per_layer);
  auto faulty = RunRanks(c.config, kRanks, kSteps, c.fault_step, c.per_layer);
  ExpectParity(clean);
  ExpectParity(faulty);
  for (int r = 0; r < kRanks; ++r) {
    EXPECT_EQ(clean[r].failed_hooks, 0);
    EXPECT_EQ(faulty[r].failed_hooks, 1) << "rank " << r;
    ASSERT_FALSE(faulty[r].failed_steps.empty());
    EXPECT_EQ(faulty[r].failed_steps[0], c.surfaces_at) << "rank " << r;
    if (c.synchronous) {
      EXPECT_EQ(faulty[r].params, clean[r].params) << "rank " << r;
      EXPECT_EQ(faulty[r].global, clean[r].global) << "rank " << r;
    }
  }
}

StrategyConfig DdpPowerSgd() {
  DataParallelOptions o;
  o.codec = "powersgd:rank=2";
  return o;
}
StrategyConfig DiLoCo() {
  DiLoCoOptions o;
  o.sync_every = 4;
  o.codec = "int8:block=256";
  return o;
}
StrategyConfig DiLoCoEf21() {
  DiLoCoOptions o;
  o.sync_every = 4;
  o.codec = "ef21(topk:density=0.25)";
  o.outer.rule = OuterRule::kAdam;
  o.outer.lr = 0.01f;
  return o;
}
StrategyConfig Ddp() {
  DataParallelOptions o;
  o.codec = "int8:block=256";
  return o;
}
StrategyConfig Streaming(int tau) {
  StreamingDiLoCoOptions o;
  o.sync_every = 8;
  o.fragments = 2;
  o.sync_delay = tau;
  return o;
}
StrategyConfig Async() {
  AsyncDiLoCoOptions o;
  o.sync_every = 4;
  return o;
}
StrategyConfig Co2() {
  Co2Options o;
  o.sync_every = 4;
  o.clip = true;
  o.clip_threshold = 0.05f;
  return o;
}
StrategyConfig NoLoCo() {
  NoLoCoOptions o;
  o.sync_every = 4;
  return o;
}
StrategyConfig LocalSgd() {
  LocalSgdOptions o;
  o.sync_every = 4;
  o.codec = "fp16";
  return o;
}

// Sync steps are those with (step + 1) % H == 0 (0-based caller steps).
INSTANTIATE_TEST_SUITE_P(
    Strategies, RetryTest,
    ::testing::Values(Case{"ddp", Ddp(), 5, true, 5},
                      // A retry re-runs every parameter's PowerSGD all-reduces
                      // after this peer's state reset: parity, not equality.
                      Case{"ddp_powersgd", DdpPowerSgd(), 5, false, 5, 64},
                      Case{"diloco", DiLoCo(), 7, true, 7},
                      Case{"diloco_ef21_adam", DiLoCoEf21(), 7, true, 7},
                      Case{"local_sgd", LocalSgd(), 7, true, 7},
                      Case{"noloco", NoLoCo(), 7, true, 7},
                      Case{"streaming_tau0", Streaming(0), 7, true, 7},
                      // tau 1: the fault hits the prepare at step 6 (its
                      // background op fails), and surfaces at the perform.
                      Case{"streaming_tau1", Streaming(1), 6, false, 7},
                      // The op launched at step 7 fails; step 11 waits for it.
                      Case{"async_diloco", Async(), 7, false, 11},
                      Case{"co2", Co2(), 7, false, 11}),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace tern
