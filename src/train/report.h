// The report of `tern train --compare`: every strategy's evaluations and
// summary figures, written as files a person or a script reads.
//
// WriteCompareReport(dir, runs) writes into `dir` (created if missing):
//   evals.csv                 one row per evaluation:
//                             strategy,step,samples,wall_seconds,
//                             bytes_sent_per_worker,test_accuracy,test_loss
//   summary.md                a Markdown table: strategy, final accuracy,
//                             bytes sent per worker, bytes vs DDP ("100x
//                             fewer", util/format.h), peak
//                             message bytes, wall time
//   summary.json              {"runs": [{"strategy", "test_accuracy",
//                             "bytes_per_worker", "peak_message_bytes",
//                             "wall_seconds", and when recorded "config",
//                             "strategy_config", "parity": {"ok",
//                             "state_identical", "params_identical",
//                             "workers_finished"}}]}
//   accuracy_vs_bytes.png     test accuracy against bytes sent per worker
//                             (log x axis)
//   accuracy_vs_time.png      test accuracy against wall time
// The plots come from /usr/bin/python3 with matplotlib (Agg), or gnuplot if
// matplotlib is missing (report_plot.h).
//
//   std::vector<RunReport> runs = ...;   // one per strategy
//   TERN_ASSIGN_OR_RETURN(ReportFiles f, WriteCompareReport("reports/cmp", runs));
//   std::fputs(f.markdown.c_str(), stdout);
//
// Thread-safety: reentrant; concurrent calls must use different dirs.
#ifndef TERN_TRAIN_REPORT_H_
#define TERN_TRAIN_REPORT_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tern/status.h"

namespace tern::train {

// One evaluation during a run.
struct EvalRecord {
  int64_t step = 0;                   // inner steps completed (per worker)
  int64_t samples = 0;                // training samples seen, all workers
  double wall_seconds = 0;            // since the run started
  uint64_t bytes_sent_per_worker = 0; // cumulative, mean over workers
  double test_accuracy = 0;
  double test_loss = 0;
};

// One strategy's run.
struct RunReport {
  std::string strategy;  // "ddp", "diloco", ...: [A-Za-z0-9_.+-], 1-64 chars
  std::vector<EvalRecord> evals;
  double test_accuracy = 0;         // final
  uint64_t bytes_per_worker = 0;    // total sent per worker
  uint64_t peak_message_bytes = 0;  // largest single message
  double wall_seconds = 0;
  // What the run was (RunConfig JSON object text, and the strategy's
  // canonical config as the workers resolved it) and its end-of-run parity
  // check; summary.json carries them as "config", "strategy_config" and
  // "parity" when set ("" / parity_checked false: left out).
  std::string config_json;
  std::string strategy_config;
  bool parity_checked = false;
  bool parity_ok = false;          // the verdict (train/run_monitor.h, CheckParity)
  bool state_identical = false;    // replicated state hashes of every finished worker
  bool params_identical = false;   // global parameter hashes
  int workers_finished = 0;
};

struct ReportOptions {
  // Which run the "ratio" column divides by ("-" when it is absent).
  std::string baseline = "ddp";
  bool plots = true;
  std::string python = "/usr/bin/python3";
  std::string gnuplot = "gnuplot";  // looked up on PATH unless it has a '/'
  int plot_timeout_seconds = 120;
};

struct ReportFiles {
  std::string csv, markdown_path, json, plot_bytes, plot_time;  // paths
  std::string markdown;  // the table, to print
  std::string plotter;   // "matplotlib" or "gnuplot" ("" without plots)
};

// Checks the runs: kInvalidArgument for no runs or a bad or repeated
// strategy name. Non-finite numbers are allowed (a diverged run is still
// reported): "nan" / "inf" in the CSV, null in the JSON.
Status ValidateRuns(std::span<const RunReport> runs);

// The summary.md table (with a trailing newline).
std::string SummaryMarkdown(std::span<const RunReport> runs, const std::string& baseline = "ddp");
// The summary.json text.
std::string SummaryJson(std::span<const RunReport> runs);
// The evals.csv text.
std::string EvalsCsv(std::span<const RunReport> runs);

// Writes summary.json alone (for --json FILE). kInvalidArgument for bad
// runs or if the file cannot be written.
Status WriteSummaryJson(const std::string& path, std::span<const RunReport> runs);

// Writes every file listed at the top. kInvalidArgument for bad runs or if
// a file cannot be written; kFailedPrecondition if plots
// are asked for and neither matplotlib nor gnuplot works (the text files
// are written first); kDeadlineExceeded if the plotter hangs. Blocks.
Result<ReportFiles> WriteCompareReport(const std::string& dir, std::span<const RunReport> runs,
                                       const ReportOptions& options = {});

}  // namespace tern::train

#endif  // TERN_TRAIN_REPORT_H_
