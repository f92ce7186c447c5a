// --chaos end to end: one of three worker processes is SIGKILLed mid-run; a
// replacement joins at the next safe point, receives the replicated state,
// and the run finishes with every worker's replicated state bit-identical.
#include <gtest/gtest.h>

#include "train/launcher.h"
#include "train/test_files.h"

namespace tern::train {
namespace {

TEST(TrainChaosTest, KilledWorkerIsReplacedAndStateEndsIdentical) {
  RunConfig c;
  c.workers = 3;
  c.model = "mlp";
  c.mlp_hidden = 64;
  // Long enough (about 4x a worker's start-up after the kill, on any
  // machine: both are CPU-bound) for the replacement to start and join.
  c.steps = 8000;
  c.batch = 32;
  c.inner_steps = 25;
  c.eval_every = 2000;
  c.eval_samples = 1000;
  c.final_eval_samples = 2000;
  c.max_train = 12000;
  c.chaos = true;
  c.chaos_at = 0.2;
  testing::ScratchDir dir;
  LaunchOptions lo;
  lo.exe = TERN_CLI_PATH;
  lo.work_dir = dir.path();
  lo.progress = nullptr;
  Result<LaunchResult> r = LaunchLocalRun(c, lo);
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
