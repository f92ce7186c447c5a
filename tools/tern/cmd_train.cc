// `tern train`: the main job. Trains a small CNN (or MLP) on Fashion-MNIST
// across several workers with a chosen strategy and codec, and reports what
// it cost (docs/train.md).
//
// Two modes:
//   local (default)  an embedded master and --workers processes on
//                    loopback (src/train/launcher.h), one live progress
//                    line, a summary table; --compare runs several
//                    strategies under the same seed and budget and writes
//                    a report folder.
//   worker           with --master HOST:PORT (or TERN_MASTER, or
//                    MASTER_ADDR + MASTER_PORT): this process is one worker
//                    of a multi-host run started by ssh, Slurm or a
//                    torchrun-style launcher (RANK / WORLD_SIZE, or
//                    SLURM_PROCID / SLURM_NTASKS); rank 0 prints the summary.
//
// Built only with the trainer (TERN_HAVE_TRAIN_RUN, set by tern_train).
#ifdef TERN_HAVE_TRAIN_RUN
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "command.h"
#include "train/host_address.h"
#include "train/launcher.h"
#include "train/report.h"
#include "train/run_config.h"
#include "train/worker.h"

namespace tern::cli {
namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }  // only sets a flag (STYLE.md)

struct TrainFlags {
  train::RunConfig config;
  std::vector<std::string> strategy_params;  // KEY=VALUE
  std::string compare;
  std::string ddp_codec;
  std::string report_dir;
  std::string json;
  bool no_plots = false;
  bool quiet = false;
  bool keep_logs = false;
  double timeout_minutes = 60;
  // worker mode
  std::string master;
  std::string secret_file;
  uint64_t run_id = 1;
  int rank = -1;
  std::string listen_host;
  std::string advertise_host;
  std::string worker_config;  // hidden: written by the local launcher
  bool join_gate = false;     // hidden: wait for the launcher's byte on stdin
};

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

Status ParseInt(const std::string& text, const char* what, int* out) {
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < 0 || v > 1 << 20) {
    return InvalidArgumentError(std::string(what) + " must be a small non-negative integer, not '" +
                                text + "'");
  }
  *out = static_cast<int>(v);
  return OkStatus();
}

Status ApplyStrategyParams(TrainFlags& f) {
  for (const std::string& kv : f.strategy_params) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgumentError("--strategy-param wants KEY=VALUE, not '" + kv + "'");
    }
    f.config.strategy_params[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return OkStatus();
}

Status CheckDataSet(const std::string& dir) {
  for (const char* f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}) {
    const std::string path = dir + "/" + f;
    if (::access(path.c_str(), R_OK) != 0) {
      return NotFoundError("Fashion-MNIST is missing (" + path + " not readable); " +
                           train::kFashionMnistInstallHint);
    }
  }
  return OkStatus();
}

// The configs of a comparison: same budget and seed, one strategy each.
// The baseline "ddp" keeps --ddp-codec (fp32 by default); the others get
// --codec.
// --strategy-param keys go to the strategies that have them (a key none of
// them has was refused before).
std::vector<train::RunConfig> CompareConfigs(const TrainFlags& f,
                                             const std::vector<std::string>& names) {
  std::vector<train::RunConfig> out;
  for (const std::string& n : names) {
    train::RunConfig c = f.config;
    c.strategy = n;
    c.strategy_params = train::ParamsFor(n, f.config.strategy_params);
    if (n == "ddp") c.codec = f.ddp_codec;
    out.push_back(c);
  }
  return out;
}

// The flags that are not part of the run config, checked before anything
// is loaded or spawned: a typo must not cost a run of several minutes.
Status ValidateOutputs(const TrainFlags& f) {
  if (!(f.timeout_minutes > 0 && f.timeout_minutes <= 7 * 24 * 60)) {
    return InvalidArgumentError("--timeout-minutes must be in (0, 10080] (a week)");
  }
  for (const std::string& path : {f.json, f.report_dir}) {
    if (path.empty()) continue;
    const std::filesystem::path parent = std::filesystem::absolute(path).parent_path();
    std::error_code ec;
    if (!std::filesystem::is_directory(parent, ec)) {
      return InvalidArgumentError("cannot write " + path + ": " + parent.string() +
                                  " is not a directory");
    }
  }
  return OkStatus();
}

void PrintNotes(const train::LaunchResult& r, bool chaos) {
  std::printf("%s\n", train::FormatParity(r.report.strategy, r.parity).c_str());
  if (chaos) std::printf("%s\n", train::FormatChaos(r.chaos, r.parity).c_str());
}

Result<std::string> MakeWorkDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "tern-train-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return InternalError("mkdtemp failed");
  return tmpl;
}

Status WriteReports(const TrainFlags& f, const std::vector<train::RunReport>& runs) {
  if (!f.json.empty()) TERN_RETURN_IF_ERROR(train::WriteSummaryJson(f.json, runs));
  if (f.report_dir.empty()) return OkStatus();
  train::ReportOptions ro;
  ro.plots = !f.no_plots;
  ro.baseline = runs.front().strategy;
  for (const train::RunReport& r : runs) {
    if (r.strategy == "ddp") ro.baseline = "ddp";
  }
  TERN_ASSIGN_OR_RETURN(train::ReportFiles files, train::WriteCompareReport(f.report_dir, runs, ro));
  std::printf("report: %s, %s, %s", files.csv.c_str(), files.markdown_path.c_str(),
              files.json.c_str());
  if (!files.plotter.empty()) {
    std::printf(", %s, %s (%s)", files.plot_bytes.c_str(), files.plot_time.c_str(),
                files.plotter.c_str());
  }
  std::printf("\n");
  return OkStatus();
}

int RunLocal(TrainFlags& f) {
  std::vector<std::string> names = {f.config.strategy};
  if (!f.compare.empty()) {
    Result<std::vector<std::string>> list = train::ParseStrategyList(f.compare);
    if (!list.ok()) return Fail(list.status());
    names = *list;
    if (f.report_dir.empty()) f.report_dir = "tern-report";
  }
  if (Status s = train::CheckStrategyParamKeys(names, f.config.strategy_params); !s.ok()) {
    return Fail(s);
  }
  std::vector<train::RunConfig> configs = CompareConfigs(f, names);
  if (f.compare.empty()) configs[0].codec = f.config.codec;
  for (const train::RunConfig& c : configs) {
    if (Status s = train::ValidateRunConfig(c); !s.ok()) return Fail(s);
  }
  if (Status s = ValidateOutputs(f); !s.ok()) return Fail(s);
  if (Status s = CheckDataSet(f.config.data_dir); !s.ok()) return Fail(s);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::vector<train::RunReport> reports;
  Status verdict;  // the first run whose parity check failed
  for (const train::RunConfig& c : configs) {
    Result<std::string> dir = MakeWorkDir();
    if (!dir.ok()) return Fail(dir.status());
    train::LaunchOptions lo;
    lo.work_dir = *dir;
    lo.progress = f.quiet ? nullptr : stderr;
    lo.live = ::isatty(STDERR_FILENO) != 0;
    lo.stop = &g_stop;
    lo.timeout_seconds = f.timeout_minutes * 60;
    std::printf("%s: %d workers, %s, %lld steps of %d per worker\n",
                train::DescribeStrategy(c).c_str(), c.workers, c.model.c_str(),
                static_cast<long long>(c.steps), c.batch);
    std::fflush(stdout);
    Result<train::LaunchResult> r = train::LaunchLocalRun(c, lo);
    if (!r.ok()) {
      if (r.status().code() == StatusCode::kCancelled) {
        std::fprintf(stderr, "tern: interrupted; workers stopped (logs in %s)\n", dir->c_str());
        return 130;
      }
      Fail(r.status());
      std::fprintf(stderr, "tern: worker logs are in %s\n", dir->c_str());
      return 1;
    }
    PrintNotes(*r, c.chaos);
    if (verdict.ok()) verdict = r->verdict;
    reports.push_back(r->report);
    if (!f.keep_logs) std::filesystem::remove_all(*dir);
    else std::printf("worker logs: %s\n", dir->c_str());
  }
  std::printf("\n%s", train::SummaryMarkdown(reports, "ddp").c_str());
  if (Status s = WriteReports(f, reports); !s.ok()) return Fail(s);
  // After the reports, which record the verdict too: a run whose workers
  // ended with different replicated state did not do what it claims.
  if (!verdict.ok()) return Fail(verdict);
  return 0;
}

}  // namespace

// Defined in cmd_train_worker.cc.
int RunTrainWorker(const train::RunConfig& config, const std::string& master,
                   const std::string& secret_file, uint64_t run_id, int rank,
                   const std::string& listen_host, const std::string& advertise_host,
                   bool launched, bool join_gate, const std::string& json_path);

namespace {

int RunTrain(TrainFlags& f) {
  if (Status s = ApplyStrategyParams(f); !s.ok()) return Fail(s);
  if (!f.worker_config.empty()) {
    std::ifstream in(f.worker_config);
    std::stringstream text;
    text << in.rdbuf();
    Result<train::RunConfig> c = train::RunConfigFromJson(text.str());
    if (!c.ok()) return Fail(c.status());
    f.config = *c;
  }
  if (f.master.empty()) f.master = Env("TERN_MASTER");
  if (f.master.empty() && !Env("MASTER_ADDR").empty()) {
    f.master = Env("MASTER_ADDR") + ":" + (Env("MASTER_PORT").empty() ? "48150" : Env("MASTER_PORT"));
  }
  if (f.master.empty()) {
    if (f.config.chaos && f.config.workers < 2) return Fail("--chaos needs --workers >= 2");
    return RunLocal(f);
  }
  if (!f.compare.empty() || !f.report_dir.empty()) {
    return Fail("--compare and --report-dir run only locally (without --master); a multi-host "
                "run prints its summary on rank 0 and writes --json");
  }
  if (Status s = ValidateOutputs(f); !s.ok()) return Fail(s);
  if (f.rank < 0) {
    for (const char* v : {"RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK"}) {
      if (!Env(v).empty()) {
        if (Status s = ParseInt(Env(v), v, &f.rank); !s.ok()) return Fail(s);
        break;
      }
    }
  }
  for (const char* v : {"WORLD_SIZE", "SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE"}) {
    if (!f.worker_config.empty() || Env(v).empty()) continue;
    if (Status s = ParseInt(Env(v), v, &f.config.workers); !s.ok()) return Fail(s);
    break;
  }
  if (f.rank < 0) return Fail("worker mode needs --rank or RANK (0 .. workers-1)");
  if (f.secret_file.empty()) f.secret_file = Env("TERN_SECRET_FILE");
  if (f.config.chaos && f.worker_config.empty()) {
    return Fail("--chaos runs only locally (without --master)");
  }
  return RunTrainWorker(f.config, f.master, f.secret_file, f.run_id, f.rank, f.listen_host,
                        f.advertise_host, !f.worker_config.empty(), f.join_gate, f.json);
}

void AddFlags(CLI::App* cmd, TrainFlags& f) {
  train::RunConfig& c = f.config;
  cmd->add_option("--strategy", c.strategy,
                  "ddp, diloco, streaming-diloco, async-diloco, noloco, local-sgd, co2 or zo")
      ->capture_default_str();
  cmd->add_option("--codec", c.codec,
                  "Codec spec for what the strategy sends (e.g. int8, fp4, fp16, "
                  "ef21(topk:density=0.01), fp32); default: int8 for diloco and async-diloco, "
                  "fp4 for streaming-diloco, fp32 otherwise. In --compare it applies to every "
                  "strategy but ddp");
  cmd->add_option("--ddp-codec", f.ddp_codec, "Codec of the ddp baseline in --compare (fp32)");
  cmd->add_option("--inner-steps,-H", c.inner_steps,
                  "H: inner steps between synchronizations (default 50; 100 for streaming-diloco)");
  cmd->add_option("--strategy-param", f.strategy_params,
                  "More strategy options as KEY=VALUE (repeatable; e.g. outer_lr=0.5, fragments=2, "
                  "tau=1). Each strategy of --compare takes the keys it has; a key no strategy "
                  "of the run has is refused, with the valid keys listed");
  cmd->add_option("--workers,-n", c.workers, "Worker processes")->capture_default_str();
  cmd->add_option("--model", c.model, "cnn or mlp")->capture_default_str();
  cmd->add_option("--mlp-hidden", c.mlp_hidden, "Hidden width of the MLP")->capture_default_str();
  cmd->add_option("--steps", c.steps, "Inner steps per worker (the budget)")->capture_default_str();
  cmd->add_option("--batch", c.batch, "Batch size per worker and step")->capture_default_str();
  cmd->add_option("--lr", c.lr, "AdamW learning rate")->capture_default_str();
  cmd->add_option("--weight-decay", c.weight_decay, "AdamW weight decay")->capture_default_str();
  cmd->add_flag("--cosine", c.cosine, "Cosine decay of the learning rate to lr/10");
  cmd->add_option("--warmup", c.warmup, "Warmup steps of the cosine schedule");
  cmd->add_option("--non-iid", c.non_iid,
                  "Dirichlet alpha of a label-skewed split (0 = IID; 0.1 = few classes each)")
      ->capture_default_str();
  cmd->add_option("--seed", c.seed, "Seed of initialisation, split and batches")
      ->capture_default_str();
  cmd->add_option("--threads", c.threads, "torch threads per worker")->capture_default_str();
  cmd->add_option("--eval-every", c.eval_every, "Evaluate every N steps (0: only at the end)")
      ->capture_default_str();
  cmd->add_option("--eval-samples", c.eval_samples, "Test images per evaluation (-1: all)")
      ->capture_default_str();
  cmd->add_option("--final-eval-samples", c.final_eval_samples,
                  "Test images of the final evaluation (-1: all 10000)")
      ->capture_default_str();
  cmd->add_option("--data-dir", c.data_dir, "Fashion-MNIST directory")->capture_default_str();
  cmd->add_option("--max-train", c.max_train, "Use only the first N training images");
  cmd->add_option("--timeout-ms", c.timeout_ms, "Timeout of each collective")
      ->capture_default_str();
  cmd->add_option("--link-rate-mbit", c.link_rate_mbit,
                  "Emulated link between every pair of workers: Mbit/s per direction (0: none). "
                  "A userspace proxy: no packet loss, no TCP congestion window");
  cmd->add_option("--link-delay-ms", c.link_delay_ms, "Emulated one-way delay in ms");
  cmd->add_flag("--chaos", c.chaos,
                "Kill one worker mid-run and start a replacement that joins at a safe point");
  cmd->add_option("--chaos-at", c.chaos_at, "When to kill, as a fraction of the steps")
      ->capture_default_str();
  cmd->add_option("--compare", f.compare,
                  "Run these strategies under the same seed and budget, e.g. "
                  "ddp,diloco,streaming-diloco,noloco, and write a report folder");
  cmd->add_option("--report-dir", f.report_dir,
                  "Write evals.csv, summary.md, summary.json and PNG plots here "
                  "(default with --compare: tern-report)");
  cmd->add_option("--json", f.json, "Write the summary as JSON to this file");
  cmd->add_flag("--no-plots", f.no_plots, "Skip the PNG plots");
  cmd->add_flag("--quiet,-q", f.quiet, "No progress line");
  cmd->add_flag("--keep-logs", f.keep_logs, "Keep the workers' logs (printed path)");
  cmd->add_option("--timeout-minutes", f.timeout_minutes,
                  "Stop a run that takes longer (0 < minutes <= 10080)")
      ->capture_default_str();
  cmd->add_option("--master", f.master,
                  "Join the run of `tern master` at HOST:PORT as one worker (multi-host; also "
                  "TERN_MASTER, or MASTER_ADDR and MASTER_PORT)");
  cmd->add_option("--secret-file", f.secret_file, "The run secret (also TERN_SECRET_FILE)");
  cmd->add_option("--run-id", f.run_id, "The run id the master serves")->capture_default_str();
  cmd->add_option("--rank", f.rank,
                  "This worker's shard, 0..workers-1 (also RANK, SLURM_PROCID); --workers "
                  "also comes from WORLD_SIZE or SLURM_NTASKS");
  cmd->add_option("--listen-host", f.listen_host,
                  "Bind the data listeners here (default: 127.0.0.1 for a loopback master, "
                  "else 0.0.0.0)");
  cmd->add_option("--advertise-host", f.advertise_host,
                  "Address peers dial (default: the local address towards the master)");
  cmd->add_option("--worker-config", f.worker_config)->group("");  // hidden: the launcher's
  cmd->add_flag("--join-gate", f.join_gate)->group("");
}

}  // namespace

TERN_COMMAND(Train, "train") {
  auto f = std::make_shared<TrainFlags>();
  CLI::App* cmd = AddCommand(
      root, {"train"},
      "Train a CNN on Fashion-MNIST across workers with a strategy and codec, and report "
      "accuracy, bytes sent and wall time (no arguments: 4 local workers, DiLoCo, int8)",
      [f] { return RunTrain(*f); });
  AddFlags(cmd, *f);
}

}  // namespace tern::cli

#endif  // TERN_HAVE_TRAIN_RUN
