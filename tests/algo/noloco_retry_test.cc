// NoLoCo applies each gossip round exactly once when a fault hits one member
// between the round's exchange and its commit: the other member has
// committed, and the safe point then elects either step for both
// (noloco.cc, "Exactly once under retry"). The safe point here is the
// strategy's part of it, with the election of the replicated metadata done
// by the test (SharedState does it in a run).
#include <gtest/gtest.h>

#include <barrier>
#include <string>
#include <vector>

#include "algo/strategies.h"
#include "tests/algo/harness.h"

namespace tern {
namespace {

using testing::RunThreadRanks;
using testing::ToyWorker;

constexpr int kRanks = 2, kH = 2, kSteps = 8;
constexpr uint64_t kFaultRound =
    4;  // the round step whose commit fails on rank 1

// kFailedRankAfterLaterFault: as kFailedRank, but rank 0 first tries the
// next round, which fails before its exchange (after it prepared what it
// would send), and only then reaches the safe point.
enum class Elect {
  kNone,
  kFailedRank,
  kCommittedRank,
  kFailedRankAfterLaterFault
};

std::vector<float> Phi(Strategy& s) {
  for (const StateTensor& t : s.State()) {
    if (t.name == "noloco.phi") return {t.values.begin(), t.values.end()};
  }
  ADD_FAILURE() << "no noloco.phi";
  return {};
}

struct RankResult {
  std::vector<float>
      phi_at_round;  // phi the last time the step became kFaultRound
  int64_t step_after_retry = -1;
  int64_t final_step = -1;
  int failures = 0;
};

// `elect`: kNone runs without a fault; otherwise rank 1's commit of round
// kFaultRound fails once, and the safe point gives both ranks the elected
// rank's replicated metadata.
std::vector<RankResult> RunNoLoCo(Elect elect) {
  std::vector<RankResult> out(kRanks);
  std::vector<std::string> meta(kRanks);
  std::barrier fence(kRanks);
  RunThreadRanks(kRanks, [&](int r, Communicator& comm, StaticWorld& world) {
    NoLoCoOptions o;
    o.sync_every = kH;
    o.group_size = 0;
    bool fired = false;
    algo::NoLoCoFault fault;
    if (elect != Elect::kNone && r == 1) {
      fault = [&fired](uint64_t step, bool exchanged) {
        if (step != kFaultRound || !exchanged || fired) return OkStatus();
        fired = true;
        return AbortedError("injected: after the exchange, before the commit");
      };
    }
    if (elect == Elect::kFailedRankAfterLaterFault && r == 0) {
      fault = [&fired](uint64_t step, bool exchanged) {
        if (step != kFaultRound + kH || exchanged || fired) return OkStatus();
        fired = true;
        return AbortedError("injected: before the exchange");
      };
    }
    auto made = algo::MakeNoLoCo(o, fault);
    ASSERT_TRUE(made.ok());
    std::unique_ptr<Strategy> s = std::move(*made);
    ToyWorker w(r, 2, 6);
    ALGO_ASSERT_OK(s->Attach(&comm, &world, w.Buffers()));
    bool safe_point_done = elect == Elect::kNone;
    for (int64_t t = 0; s->step() < kSteps; ++t) {
      ASSERT_LT(t, 4 * kSteps);
      w.Backward(t);
      ALGO_ASSERT_OK(s->AfterBackward({.step = t}));
      w.Sgd(0.05f);
      const bool round_of_fault =
          static_cast<uint64_t>(s->step()) + 1 == kFaultRound;
      Status st = s->AfterOptimizerStep({.step = t});
      if (!st.ok()) {
        EXPECT_EQ(st.code(), StatusCode::kAborted);
        ++out[r].failures;
      }
      if (st.ok() && s->step() == static_cast<int64_t>(kFaultRound))
        out[r].phi_at_round = Phi(*s);
      // Both ranks reach the safe point after the round: rank 0 committed,
      // rank 1 failed (with kFailedRankAfterLaterFault, rank 0 after its
      // failed next round).
      const bool at_safe_point = elect == Elect::kFailedRankAfterLaterFault
                                     ? !st.ok()
                                     : round_of_fault;
      if (!at_safe_point || safe_point_done) continue;
      safe_point_done = true;
      meta[r] = s->ReplicatedMetadata();
      fence.arrive_and_wait();
      const std::string elected = meta[elect == Elect::kCommittedRank ? 0 : 1];
      fence.arrive_and_wait();
      ALGO_ASSERT_OK(s->BeforeSafePoint());
      ALGO_ASSERT_OK(s->SetReplicatedMetadata(elected));
      ALGO_ASSERT_OK(s->AfterSafePoint());
      if (st.ok()) continue;
      // The retry; rank 0 of kFailedRankAfterLaterFault now repeats the
      // round it committed, whatever it prepared for the next one.
      ALGO_ASSERT_OK(s->AfterOptimizerStep({.step = t, .attempt = 1}));
      out[r].step_after_retry = s->step();
      if (s->step() == static_cast<int64_t>(kFaultRound))
        out[r].phi_at_round = Phi(*s);
    }
    ALGO_ASSERT_OK(s->Finish());
    out[r].final_step = s->step();
  });
  return out;
}

TEST(NoLoCoRetryTest, RewoundRoundIsAppliedOnceWithTheSameContributions) {
  const auto clean = RunNoLoCo(Elect::kNone);
  const auto faulty = RunNoLoCo(Elect::kFailedRank);
  EXPECT_EQ(faulty[1].failures, 1);
  EXPECT_EQ(faulty[1].step_after_retry, static_cast<int64_t>(kFaultRound));
  for (int r = 0; r < kRanks; ++r) {
    // Rank 0 committed the round before the rewind and must not apply it
    // again; rank 1 must receive the contribution rank 0 sent the first time.
    EXPECT_EQ(faulty[r].phi_at_round, clean[r].phi_at_round) << "rank " << r;
    EXPECT_EQ(faulty[r].final_step, kSteps) << "rank " << r;
  }
}

// A committed member's later round failed after it prepared that round's
// contribution; the repeated round must still carry its first one.
TEST(NoLoCoRetryTest,
     RewoundRoundAfterALaterFailedRoundResendsTheFirstContribution) {
  const auto clean = RunNoLoCo(Elect::kNone);
  const auto faulty = RunNoLoCo(Elect::kFailedRankAfterLaterFault);
  EXPECT_EQ(faulty[0].failures, 1);
  EXPECT_EQ(faulty[1].failures, 1);
  for (int r = 0; r < kRanks; ++r) {
    EXPECT_EQ(faulty[r].step_after_retry, static_cast<int64_t>(kFaultRound))
        << "rank " << r;
    EXPECT_EQ(faulty[r].phi_at_round, clean[r].phi_at_round) << "rank " << r;
    EXPECT_EQ(faulty[r].final_step, kSteps) << "rank " << r;
  }
}

TEST(NoLoCoRetryTest, RetryAfterTheRunMovedPastTheRoundDoesNotAdvanceAgain) {
  const auto faulty = RunNoLoCo(Elect::kCommittedRank);
  EXPECT_EQ(faulty[1].failures, 1);
  // The safe point gave rank 1 the step kFaultRound; its retried hook must
  // leave it there (it advanced to kFaultRound + 1 before the fix).
  EXPECT_EQ(faulty[1].step_after_retry, static_cast<int64_t>(kFaultRound));
  for (int r = 0; r < kRanks; ++r)
    EXPECT_EQ(faulty[r].final_step, kSteps) << "rank " << r;
}

}  // namespace
}  // namespace tern
