// --chaos end to end: one of three worker processes is SIGKILLed mid-run; a
// replacement joins at the next safe point, receives the replicated state,
// and the run finishes with every worker's replicated state bit-identical.
#include <gtest/gtest.h>

#include "tests/train/small_run.h"

namespace tern::train {
namespace {

TEST(TrainChaosTest, KilledWorkerIsReplacedAndStateEndsIdentical) {
  // 8000 steps: long enough (about 4x a worker's start-up after the kill,
  // on any machine, since both are CPU-bound) for the replacement to start
  // and join.
  RunConfig c = testing::SmallMlp(3, 8000, 2000, 12000);
  c.chaos = true;
  c.chaos_at = 0.2;
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

}  // namespace
}  // namespace tern::train
