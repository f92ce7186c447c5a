// PNG plots of a compare report, drawn by an external program: matplotlib
// through /usr/bin/python3 (Agg backend) first, gnuplot if that fails.
// Neither is linked in; both are Debian packages (python3-matplotlib,
// gnuplot-nox). The data is read from evals.csv (report.h), never pasted
// into the plot script.
//
//   TERN_ASSIGN_OR_RETURN(std::string used, DrawPlots(csv, {"ddp", "diloco"},
//                                                     bytes_png, time_png, opts));
//
// Thread-safety: reentrant (spawns a child process per call).
#ifndef TERN_TRAIN_REPORT_PLOT_H_
#define TERN_TRAIN_REPORT_PLOT_H_

#include <string>
#include <vector>

#include "tern/status.h"
#include "train/report.h"

namespace tern::train {

// Output of a finished child process.
struct ProcessResult {
  int exit_code = -1;  // 128 + signal if it was killed by one
  std::string output;  // stdout and stderr, at most the first 8 KiB
};

// Runs argv[0] (looked up on PATH unless it contains '/') with argv, no
// shell. kNotFound if it cannot be started; kDeadlineExceeded (after
// killing it) if it runs past `timeout_seconds`. Blocks.
Result<ProcessResult> RunProcess(const std::vector<std::string>& argv, int timeout_seconds);

// Draws accuracy-vs-bytes (log x) and accuracy-vs-time from `csv_path` into
// the two PNG paths, one line per strategy. Returns "matplotlib" or
// "gnuplot". kFailedPrecondition (saying what to install and why each
// plotter failed) if neither works; kInvalidArgument for paths gnuplot
// cannot quote (containing ', " or a newline) when it is the fallback.
Result<std::string> DrawPlots(const std::string& csv_path, const std::vector<std::string>& strategies,
                              const std::string& bytes_png, const std::string& time_png,
                              const ReportOptions& options);

}  // namespace tern::train

#endif  // TERN_TRAIN_REPORT_PLOT_H_
