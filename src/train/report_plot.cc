#include "train/report_plot.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "util/clock.h"

extern char** environ;

namespace tern::train {
namespace {

constexpr size_t kMaxOutput = 8192;

// argv: csv, bytes_png, time_png, then the strategies in order.
constexpr char kMatplotlibScript[] = R"PY(
import csv, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
csv_path, bytes_png, time_png = sys.argv[1:4]
order = sys.argv[4:]
rows = {s: [] for s in order}
with open(csv_path, newline="") as f:
    for r in csv.DictReader(f):
        rows.setdefault(r["strategy"], []).append(r)
def draw(path, xkey, xlabel, logx):
    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    for s in order:
        pts = [(float(r[xkey]), float(r["test_accuracy"])) for r in rows[s]]
        if logx:
            pts = [p for p in pts if p[0] > 0]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", markersize=3, label=s)
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, format="png")
draw(bytes_png, "bytes_sent_per_worker", "bytes sent per worker", True)
draw(time_png, "wall_seconds", "wall time (s)", False)
)PY";

std::string GnuplotScript(const std::string& csv, const std::vector<std::string>& strategies,
                          const std::string& bytes_png, const std::string& time_png) {
  std::string names;
  for (const std::string& s : strategies) names += (names.empty() ? "" : " ") + s;
  std::string plot = "plot for [s in '" + names + "'] '" + csv + "' skip 1 using ";
  return "set datafile separator ','\n"
         "set terminal pngcairo size 800,500\n"
         "set key bottom right\nset grid\nset ylabel 'test accuracy'\n"
         "set xlabel 'bytes sent per worker'\nset logscale x\n"
         "set output '" + bytes_png + "'\n" + plot +
         "(strcol(1) eq s && $5 > 0 ? $5 : NaN):6 with linespoints pt 7 ps 0.5 title s\n"
         "unset logscale x\nset xlabel 'wall time (s)'\n"
         "set output '" + time_png + "'\n" + plot +
         "(strcol(1) eq s ? $4 : NaN):6 with linespoints pt 7 ps 0.5 title s\n"
         "set output\n";
}

bool GnuplotCanQuote(const std::string& s) { return s.find_first_of("'\"\n") == std::string::npos; }

// Describes why a plotter run did not succeed ("" if it did).
std::string Failure(const Result<ProcessResult>& r) {
  if (!r.ok()) return r.status().ToString();
  if (r->exit_code == 0) return "";
  std::string out = r->output;
  if (out.size() > 300) out = "..." + out.substr(out.size() - 300);
  return "exit code " + std::to_string(r->exit_code) + ": " + out;
}

// Reads the child's output until EOF or the deadline.
bool DrainUntil(int fd, Deadline deadline, std::string* out) {
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int ready = poll(&p, 1, deadline.RemainingMillisForPoll());
    if (ready == 0) return false;
    if (ready < 0 && errno == EINTR) continue;
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    if (out->size() < kMaxOutput) out->append(buf, std::min<size_t>(n, kMaxOutput - out->size()));
  }
}

}  // namespace

Result<ProcessResult> RunProcess(const std::vector<std::string>& argv, int timeout_seconds) {
  if (argv.empty()) return InvalidArgumentError("RunProcess: empty argv");
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return InternalError(std::string("pipe2: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return NotFoundError("cannot run " + argv[0] + ": " + std::strerror(rc));
  }
  ProcessResult result;
  bool finished = DrainUntil(fds[0], Deadline::After(std::chrono::seconds(timeout_seconds)), &result.output);
  close(fds[0]);
  if (!finished) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!finished) {
    return DeadlineExceededError(argv[0] + " ran past " + std::to_string(timeout_seconds) + " s; killed");
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

Result<std::string> DrawPlots(const std::string& csv_path, const std::vector<std::string>& strategies,
                              const std::string& bytes_png, const std::string& time_png,
                              const ReportOptions& options) {
  std::vector<std::string> py = {options.python, "-c", kMatplotlibScript, csv_path, bytes_png, time_png};
  py.insert(py.end(), strategies.begin(), strategies.end());
  Result<ProcessResult> r = RunProcess(py, options.plot_timeout_seconds);
  if (!r.ok() && r.status().code() == StatusCode::kDeadlineExceeded) return r.status();
  std::string matplotlib_failure = Failure(r);
  if (matplotlib_failure.empty()) return std::string("matplotlib");

  for (const std::string& p : {csv_path, bytes_png, time_png}) {
    if (!GnuplotCanQuote(p)) return InvalidArgumentError("gnuplot cannot quote the path " + p);
  }
  // `gnuplot -e` takes commands separated by ';', not newlines.
  std::string script = GnuplotScript(csv_path, strategies, bytes_png, time_png);
  std::replace(script.begin(), script.end(), '\n', ';');
  std::vector<std::string> gp = {options.gnuplot, "-e", script};
  r = RunProcess(gp, options.plot_timeout_seconds);
  if (!r.ok() && r.status().code() == StatusCode::kDeadlineExceeded) return r.status();
  std::string gnuplot_failure = Failure(r);
  if (gnuplot_failure.empty()) return std::string("gnuplot");
  return FailedPreconditionError(
      "cannot draw the plots: install python3-matplotlib (run with " + options.python +
      ") or gnuplot-nox. matplotlib: " + matplotlib_failure + "; gnuplot: " + gnuplot_failure);
}

}  // namespace tern::train
