// Shared set-up of the `tern train` end-to-end tests: a small MLP run on a
// slice of Fashion-MNIST, launched through the real tern binary.
#ifndef TERN_TESTS_TRAIN_SMALL_RUN_H_
#define TERN_TESTS_TRAIN_SMALL_RUN_H_

#include <string>

#include "train/launcher.h"
#include "train/test_files.h"

namespace tern::train::testing {

// An MLP (64 hidden) with batch 32 and H = 25 on the first `train_images`
// images; evaluations on 1000 test images, the final one on 2000.
inline RunConfig SmallMlp(int workers, int64_t steps, int64_t eval_every, int64_t train_images) {
  RunConfig c;
  c.workers = workers;
  c.model = "mlp";
  c.mlp_hidden = 64;
  c.steps = steps;
  c.batch = 32;
  c.inner_steps = 25;
  c.eval_every = eval_every;
  c.eval_samples = 1000;
  c.final_eval_samples = 2000;
  c.max_train = train_images;
  return c;
}

// Runs `c` with the tern binary under test, logs in `dir`, no progress line.
inline Result<LaunchResult> Launch(const RunConfig& c, const ScratchDir& dir) {
  LaunchOptions lo;
  lo.exe = TERN_CLI_PATH;
  lo.work_dir = dir.path();
  lo.progress = nullptr;
  return LaunchLocalRun(c, lo);
}

}  // namespace tern::train::testing

#endif  // TERN_TESTS_TRAIN_SMALL_RUN_H_
