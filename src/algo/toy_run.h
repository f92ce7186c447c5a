// A local training run of the toy task (toy_task.h) under a strategy: N
// workers as threads of this process, each with a StaticWorld from a
// LocalRendezvous and a Communicator over loopback TCP, its own i.i.d. shard
// of the training set, AdamW as the inner optimizer (or the strategy's
// zeroth-order step), and a cosine learning rate. Used by `tern bench
// strategies` and by tests.
//
// Thread-safety: RunToyTraining may be called from any thread; it blocks
// until the run ends.
#ifndef TERN_ALGO_TOY_RUN_H_
#define TERN_ALGO_TOY_RUN_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "algo/toy_task.h"
#include "tern/strategy.h"

namespace tern::algo::toy {

struct ToyRunOptions {
  int workers = 4;
  int64_t steps = 1000;
  int batch = 32;       // per worker and step
  float lr = 3e-3f;     // inner AdamW peak lr (cosine to lr / 10)
  float weight_decay = 0.0f;
  std::vector<int> widths = {128, 128, 128, 128, 4};
  GaussianMixtureOptions data;
  uint64_t seed = 1;    // model initialisation and batches
  // Called by worker 0 every `progress_every` steps (0: never).
  std::function<void(int64_t step)> progress;
  int64_t progress_every = 0;
};

struct ToyRunResult {
  // Mean over workers of the eval loss / accuracy of their GlobalParameters.
  double eval_loss = 0;
  double eval_accuracy = 0;
  // Mean over workers of Strategy::stats().bytes_sent; max of the peaks.
  double bytes_per_worker = 0;
  uint64_t peak_message_bytes = 0;
  uint64_t syncs = 0;  // worker 0's
  double seconds = 0;
  size_t params = 0;
};

// All workers build the strategy from `config` (so it must be valid).
// Errors: the first worker error (rendezvous, connection, a hook's).
Result<ToyRunResult> RunToyTraining(const StrategyConfig& config, const ToyRunOptions& options,
                                    const GaussianMixture& data);

}  // namespace tern::algo::toy

#endif  // TERN_ALGO_TOY_RUN_H_
