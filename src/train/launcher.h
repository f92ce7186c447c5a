// The local launcher behind `tern train` (DESIGN.md, "Where it runs: one
// machine"): an embedded master, N worker processes on loopback, their
// progress on one live line, and the run's report.
//
// LaunchLocalRun:
//   1. starts a Master in this process (127.0.0.1, port 0, fresh secret);
//   2. writes the secret (mode 0600) and the run config (JSON) into
//      `work_dir`, and re-executes the `tern` binary once per worker:
//        tern train --worker-config F --master ADDR --secret-file S
//                   --run-id ID --rank SLOT --join-gate
//      (events on fd 3, stdout/stderr in work_dir/worker-SLOT.log);
//   3. reads the events, renders the progress line, and for --chaos
//      SIGKILLs one worker (not rank 0) once the run reaches chaos_at of
//      its steps and starts a replacement for the same shard, which joins
//      at the next safe point;
//   4. returns when every worker has finished (or on error / *stop).
//
//   LaunchOptions lo; lo.work_dir = "/tmp/tern-run-1"; lo.stop = &g_stop;
//   TERN_ASSIGN_OR_RETURN(LaunchResult r, LaunchLocalRun(config, lo));
//   std::fputs(SummaryMarkdown({&r.report, 1}).c_str(), stdout);
//
// Thread-safety: one run at a time per process.
#ifndef TERN_TRAIN_LAUNCHER_H_
#define TERN_TRAIN_LAUNCHER_H_

#include <csignal>
#include <cstdio>
#include <string>

#include "train/report.h"
#include "train/run_config.h"
#include "train/run_monitor.h"

namespace tern::train {

struct LaunchOptions {
  std::string exe;       // the tern binary; empty = this process's executable
  std::string work_dir;  // must exist; secret, config and worker logs go here
  // Progress line destination (nullptr = none); `live` redraws one line
  // with '\r' (a terminal), otherwise a line is printed every few seconds.
  std::FILE* progress = stderr;
  bool live = true;
  // Set asynchronously (SIGINT); the launcher then stops the workers.
  const volatile std::sig_atomic_t* stop = nullptr;
  double timeout_seconds = 3600;
};

struct LaunchResult {
  RunReport report;
  ChaosSummary chaos;
  ParitySummary parity;
  Status verdict;  // RunMonitor::Verdict(): kDataLoss if the parity check failed
  std::string work_dir;
};

// Errors: kCancelled (*stop was set), kDeadlineExceeded (timeout), the
// first failing worker's error (its last "error" event, else the tail of
// its log) with its code when known (kNotFound for a missing data set),
// kInternal for spawn failures, the master's start errors.
Result<LaunchResult> LaunchLocalRun(const RunConfig& config, const LaunchOptions& options);

}  // namespace tern::train

#endif  // TERN_TRAIN_LAUNCHER_H_
