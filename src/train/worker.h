// One worker process of `tern train`: loads Fashion-MNIST, takes its shard,
// joins the run through the master, and trains with the run's strategy,
// reaching a safe point whenever the world changes (safe_point.h).
//
// The same function serves local runs (the launcher re-executes the `tern`
// binary once per worker and reads the events from a pipe) and multi-host
// runs (`tern train --master HOST:PORT` started by ssh, Slurm or a
// torchrun-style launcher, events rendered on stdout).
//
// The loop, with `steps` counted by the strategy's replicated step counter
// (so a replacement worker that joins mid-run does only what is left):
//
//   join -> attach strategy -> initial safe point (a joiner receives state)
//   while strategy.step() < steps:
//     safe point if the world changed (a peer waits, or one died)
//     trainer.Step()   -> on a retryable hook error: safe point, Step() again
//     rank 0 evaluates the global parameters every eval_every steps
//   strategy.Finish() -> all-gather of every worker's totals and hashes
//                        (best effort: one attempt, workers leave after it)
//   rank 0 evaluates the global parameters on the final test sample
//
//   WorkerOptions o; o.config = c; o.slot = rank; o.master = peer_options;
//   TERN_ASSIGN_OR_RETURN(WorkerOutcome out, RunWorker(o, &sink));
//
// Thread-safety: one call per process (it sets process-wide torch threads).
#ifndef TERN_TRAIN_WORKER_H_
#define TERN_TRAIN_WORKER_H_

#include <chrono>
#include <vector>

#include "tern/master.h"
#include "train/run_config.h"
#include "train/worker_events.h"

namespace tern::train {

struct WorkerOptions {
  RunConfig config;
  int slot = 0;  // which shard (0 .. workers-1): the launcher's RANK
  MasterWorldOptions master;
  std::chrono::milliseconds join_timeout{120000};
  // Wait for one byte on stdin before joining (the local launcher admits
  // workers one by one, so ranks follow slots and runs are reproducible).
  bool join_gate = false;
};

struct WorkerOutcome {
  // Every member's "done" event in rank order (gathered at the end; only
  // this worker's own if the gather failed).
  std::vector<WorkerEvent> world;
  WorkerEvent final_eval;  // rank 0 only: event "eval" with final = true
  bool is_rank0 = false;
};

// Runs the worker to the end of the run. Emits events to `sink` (not owned).
// Errors: kNotFound (data set missing: the message says how to install
// it), kInvalidArgument (bad config), kPermissionDenied (wrong secret),
// kUnavailable / kDeadlineExceeded (master unreachable, world never
// settled), kInternal (torch). Blocks for the whole run.
Result<WorkerOutcome> RunWorker(const WorkerOptions& options, EventSink* sink);

}  // namespace tern::train

#endif  // TERN_TRAIN_WORKER_H_
