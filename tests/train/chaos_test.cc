// --chaos end to end: one of three worker processes is SIGKILLed mid-run; a
// replacement joins at the next safe point, receives the replicated state,
// and the run finishes with every worker's replicated state bit-identical.
//
// The survivors wait for the replacement to be pending before they go on
// (RunConfig::chaos_wait_for_join), so the replacement always joins, on a
// loaded machine too, and the tests check recovery rather than a race
// between its start-up and the remaining steps.
#include <gtest/gtest.h>

#include "tests/train/small_run.h"

namespace tern::train {
namespace {

struct Case {
  const char* name;
  const char* strategy;
  const char* codec;
  bool cosine;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class TrainChaosTest : public ::testing::TestWithParam<Case> {};

TEST_P(TrainChaosTest, KilledWorkerIsReplacedAndStateEndsIdentical) {
  RunConfig c = testing::SmallMlp(3, 1200, 400, 12000);
  c.strategy = GetParam().strategy;
  c.codec = GetParam().codec;
  c.cosine = GetParam().cosine;
  c.chaos = true;
  c.chaos_at = 0.25;
  c.chaos_wait_for_join = true;
  testing::ScratchDir dir;
  Result<LaunchResult> r = testing::Launch(c, dir);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->chaos.kills, 1);
  EXPECT_EQ(r->chaos.joins, 1);
  EXPECT_GE(r->chaos.detect_seconds, 0);
  EXPECT_GT(r->chaos.recovery_seconds, 0);
  EXPECT_EQ(r->parity.workers_finished, 3);
  EXPECT_TRUE(r->parity.state_hashes_match);
  EXPECT_TRUE(r->parity.params_hashes_match);
  EXPECT_GT(r->report.test_accuracy, 0.5);
}

// ddp + EF21: the error-feedback buffers move on every commit, and the
// replicated parameters need every worker to apply the same learning rate
// (a replacement must continue the cosine schedule, not restart it).
INSTANTIATE_TEST_SUITE_P(
    Strategies, TrainChaosTest,
    ::testing::Values(Case{"diloco", "diloco", "", false},
                      Case{"ddp_ef21_cosine", "ddp", "ef21(int8:block=64)", true}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace tern::train
