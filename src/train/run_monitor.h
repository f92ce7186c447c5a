// RunMonitor: the launcher's view of one run, built from its workers'
// events (worker_events.h): the live progress line, the evaluation curve,
// the totals of the report (report.h), and what --chaos did.
//
// Bytes per worker at an evaluation point are the mean of every worker's
// "mark" at that step (each worker reports its own counter there); the
// final figure is the sum over every worker process of the run, the
// killed ones included, divided by the number of workers.
//
//   RunMonitor m(config);
//   m.OnEvent(slot, process, event, now);     // for every line a worker writes
//   std::string line = m.ProgressLine(now);
//   RunReport r = m.Report();
//
// Thread-safety: thread-compatible.
#ifndef TERN_TRAIN_RUN_MONITOR_H_
#define TERN_TRAIN_RUN_MONITOR_H_

#include <map>
#include <string>
#include <vector>

#include "train/report.h"
#include "train/run_config.h"
#include "train/worker_events.h"

namespace tern::train {

struct ChaosSummary {
  int kills = 0;
  int joins = 0;                   // replacements admitted ("safepoint" with joined)
  double detect_seconds = -1;      // kill -> first survivor safe point
  double recovery_seconds = -1;    // kill -> replacement admitted and synced
  int safe_points = 0;             // completed by the survivors after the kill
};

struct ParitySummary {
  bool state_hashes_match = false;   // replicated state, every finished worker
  bool params_hashes_match = false;  // global parameters
  int workers_finished = 0;
};

// "diloco: replicated state bit-identical on 4 workers; global parameters
// identical" (NoLoCo's parameters differ by design and say so).
std::string FormatParity(const std::string& strategy, const ParitySummary& p);
// The end-of-run verdict: OK when at least `expected` workers finished and
// reported their hashes, their replicated state hashes are equal and so are
// their global parameters (except NoLoCo's, per-peer by design).
// kDataLoss with a one-line message naming what differs ("parity check
// failed: ...") otherwise; `tern train` then exits non-zero.
Status CheckParity(const std::string& strategy, const ParitySummary& p, int expected);
// "chaos: 1 worker killed, 1 replacement joined; ...; recovered".
std::string FormatChaos(const ChaosSummary& c, const ParitySummary& p);

class RunMonitor {
 public:
  explicit RunMonitor(const RunConfig& config);

  // `process` numbers the worker processes (replacements get new numbers);
  // `now` is the launcher's clock (NowSeconds()).
  void OnEvent(int slot, int process, const WorkerEvent& e, double now);
  void OnKill(int process, double now);

  // The live line: strategy, step, loss, last accuracy, bytes, throughput.
  std::string ProgressLine(double now) const;
  // The largest replicated step any worker reported.
  int64_t max_step() const { return max_step_; }
  // The current rank of a process (-1 if unknown).
  int RankOf(int process) const;
  bool Started(int process) const;
  bool Done(int process) const;
  // The worker's "error" event as a Status (OK if it sent none).
  Status LastError(int process) const;

  // The report, with the run's config, the workers' resolved strategy
  // config and the parity verdict (Verdict()).
  RunReport Report() const;
  ChaosSummary Chaos() const { return chaos_; }
  ParitySummary Parity() const;
  // CheckParity over the workers expected to finish: all of them, less the
  // killed ones no replacement stood in for (FormatChaos says "NOT
  // recovered" for those).
  Status Verdict() const;
  // The "done" events received, by process.
  const std::map<int, WorkerEvent>& done() const { return done_; }

 private:
  struct Process {
    int slot = 0;
    WorkerEvent last;  // latest "step" / "done"
    double loss = 0;   // of the latest "step"
    bool started = false;
    bool done = false;
    Status error;
  };

  const RunConfig config_;
  const std::string label_;
  std::map<int, Process> procs_;
  std::map<int64_t, std::vector<uint64_t>> marks_;  // step -> bytes of each worker
  std::vector<WorkerEvent> evals_;                  // rank 0's
  std::map<int, WorkerEvent> done_;
  int64_t max_step_ = 0;
  double first_start_ = -1;
  double kill_time_ = -1;
  ChaosSummary chaos_;
};

}  // namespace tern::train

#endif  // TERN_TRAIN_RUN_MONITOR_H_
