// `tern bench strategies`: the toy Gaussian-mixture task (algo/toy_task.h)
// trained by 4 local workers (threads over loopback TCP) with data-parallel
// SGD and with each strategy; prints the final eval loss, the bytes each
// worker sent, the largest single message, and the byte ratio against
// data-parallel measured in the same run, then checks the targets
// (--check: exit 1 if one is missed).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "algo/toy_run.h"
#include "command.h"
#include "tern/strategy.h"
#include "util/format.h"

namespace tern::cli {
namespace {

struct Options {
  bool json = false;
  bool check = false;
  int64_t steps = 4000;
  int workers = 4;
  int seeds = 1;
  std::string only;
  uint64_t seed = 1;
};

// The task: hard enough that the eval loss plateaus well above zero (about
// 92% accuracy), with enough data that 4000 steps do not overfit much.
algo::toy::ToyRunOptions TaskOptions(const Options& o) {
  algo::toy::ToyRunOptions run;
  run.workers = o.workers;
  run.steps = o.steps;
  run.batch = 32;
  run.lr = 3e-3f;
  run.widths = {128, 128, 128, 128, 4};
  run.data.dim = 128;
  run.data.classes = 4;
  run.data.clusters = 8;
  run.data.noise = 3.0f;
  run.data.train = 131072;
  run.data.eval = 16384;
  run.data.seed = 42;
  return run;
}

struct Entry {
  std::string label;  // the JSON "strategy" value
  StrategyConfig config;
  std::string summary;  // how it was configured
};

std::vector<Entry> Entries() {
  std::vector<Entry> e;
  e.push_back({"ddp", DataParallelOptions{}, "fp32 all-reduce of gradients every step"});
  DiLoCoOptions d;
  d.sync_every = 100;
  d.codec = "int8:block=256";
  e.push_back({"diloco", d, "H=100 int8:block=256, Nesterov 0.7/0.9"});
  StreamingDiLoCoOptions s;
  s.sync_every = 100;
  s.fragments = 4;
  e.push_back({"streaming-diloco", s, "H=100 F=4 strided tau=1 alpha=0.5 fp4"});
  AsyncDiLoCoOptions a;
  a.sync_every = 100;
  a.codec = "int8:block=256";
  e.push_back({"async-diloco", a, "H=100 int8:block=256, one-step delayed, outer SGD 0.7"});
  e.push_back({"noloco", NoLoCoOptions{}, "H=50 pairs, eta 0.7, beta 0.5, fp32"});
  LocalSgdOptions l;
  l.sync_every = 100;
  e.push_back({"local-sgd", l, "H=100 fp32 parameter average"});
  e.push_back({"co2", Co2Options{}, "H=48 lr 1 beta 0.5 lambda 1, fp32, async"});
  ZerothOrderOptions z;
  z.lr = 1e-4f;
  z.eps = 1e-3f;
  e.push_back({"zo", z, "SPSA from scratch, Rademacher, 1 byte/worker/step, lr 1e-4"});
  return e;
}

struct Row {
  Entry entry;
  algo::toy::ToyRunResult result;  // loss and accuracy: means over seeds
  std::vector<double> losses;      // per seed
};

// Byte ratios read "196x fewer" everywhere (table, targets: util/format.h);
// loss gaps are signed percentages.
std::string Percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.2f%%", 100 * fraction);
  return buf;
}

// kind "loss": value is the relative loss excess over ddp, pass if <=
// threshold; kind "ratio": value is how many times fewer (bytes, or peak
// message size), pass if >= threshold.
struct Check {
  std::string name;
  std::string kind;
  double value, threshold;
  bool pass;
};

std::string Shown(const Check& c, double v) {
  if (c.kind == "loss") return Percent(v);
  return std::isfinite(v) ? FewerBytes(v, 1) : "sent nothing";
}

std::vector<Check> Targets(const std::vector<Row>& rows) {
  const Row *ddp = nullptr, *dl = nullptr, *st = nullptr;
  for (const Row& r : rows) {
    if (r.entry.label == "ddp") ddp = &r;
    if (r.entry.label == "diloco") dl = &r;
    if (r.entry.label == "streaming-diloco") st = &r;
  }
  std::vector<Check> out;
  if (!ddp) return out;
  auto gap = [&](const Row* r) {
    return (r->result.eval_loss - ddp->result.eval_loss) / ddp->result.eval_loss;
  };
  auto ratio = [&](const Row* r) { return ddp->result.bytes_per_worker / r->result.bytes_per_worker; };
  if (dl) {
    out.push_back({"diloco eval loss vs ddp", "loss", gap(dl), 0.02, gap(dl) <= 0.02});
    out.push_back({"diloco bytes vs ddp", "ratio", ratio(dl), 200, ratio(dl) >= 200});
  }
  if (st) {
    out.push_back({"streaming-diloco eval loss vs ddp", "loss", gap(st), 0.02, gap(st) <= 0.02});
    out.push_back({"streaming-diloco bytes vs ddp", "ratio", ratio(st), 400, ratio(st) >= 400});
    if (dl) {
      const double peak = static_cast<double>(dl->result.peak_message_bytes) /
                          static_cast<double>(st->result.peak_message_bytes);
      out.push_back({"streaming-diloco peak message vs diloco's", "ratio", peak, 4, peak >= 4});
    }
  }
  return out;
}

void PrintTable(const std::vector<Row>& rows, const std::vector<Check>& checks,
                const Options& o) {
  const Row* ddp = rows.empty() || rows[0].entry.label != "ddp" ? nullptr : &rows[0];
  const algo::toy::ToyRunOptions t = TaskOptions(o);
  std::printf("toy task: Gaussian mixture (dim %d, %d classes x %d clusters, noise %g, %zu train"
              " / %zu eval), MLP 128-128-128-128-4 (%zu params), AdamW lr %g cosine, %d workers x"
              " %lld steps x batch %d, %d seed(s); losses are means over seeds\n\n",
              t.data.dim, t.data.classes, t.data.clusters, t.data.noise, t.data.train, t.data.eval,
              rows.empty() ? size_t{0} : rows[0].result.params, t.lr, o.workers,
              static_cast<long long>(o.steps), t.batch, o.seeds);
  std::printf("%-17s %10s %8s %7s %12s %13s %11s %8s  %s\n", "strategy", "eval loss", "vs ddp",
              "acc", "bytes/worker", "bytes vs ddp", "peak msg", "seconds", "configuration");
  for (const Row& r : rows) {
    const auto& x = r.result;
    std::string rel = "-", ratio = "-";
    if (ddp == &r) {
      rel = ratio = "baseline";
    } else if (ddp) {
      rel = Percent((x.eval_loss - ddp->result.eval_loss) / ddp->result.eval_loss);
      ratio = FewerBytes(ddp->result.bytes_per_worker, x.bytes_per_worker);
    }
    std::printf("%-17s %10.4f %8s %6.1f%% %12s %13s %11s %8.1f  %s\n", r.entry.label.c_str(),
                x.eval_loss, rel.c_str(), 100 * x.eval_accuracy, HumanBytes(x.bytes_per_worker).c_str(),
                ratio.c_str(), HumanBytes(static_cast<double>(x.peak_message_bytes)).c_str(), x.seconds,
                r.entry.summary.c_str());
  }
  if (!checks.empty()) std::printf("\ntargets:\n");
  for (const Check& c : checks) {
    std::printf("  %-45s %12s (target %s %s)  %s\n", c.name.c_str(), Shown(c, c.value).c_str(),
                c.kind == "loss" ? "<=" : ">=", Shown(c, c.threshold).c_str(),
                c.pass ? "PASS" : "FAIL");
  }
}

void PrintJson(const std::vector<Row>& rows, const std::vector<Check>& checks, const Options& o) {
  nlohmann::json j;
  const algo::toy::ToyRunOptions t = TaskOptions(o);
  j["task"] = {{"workers", o.workers}, {"steps", o.steps}, {"batch", t.batch}, {"lr", t.lr},
               {"seeds", o.seeds}, {"dim", t.data.dim}, {"noise", t.data.noise},
               {"train", t.data.train}, {"eval", t.data.eval},
               {"params", rows.empty() ? 0 : rows[0].result.params}};
  j["strategies"] = nlohmann::json::array();
  for (const Row& r : rows) {
    j["strategies"].push_back({{"strategy", r.entry.label},
                               {"final_loss", r.result.eval_loss},
                               {"final_loss_per_seed", r.losses},
                               {"bytes_per_worker", r.result.bytes_per_worker},
                               {"peak_message_bytes", r.result.peak_message_bytes},
                               {"eval_accuracy", r.result.eval_accuracy},
                               {"seconds", r.result.seconds},
                               {"config", CanonicalConfig(r.entry.config)}});
  }
  j["targets"] = nlohmann::json::array();
  for (const Check& c : checks) {
    j["targets"].push_back({{"name", c.name},
                            {"kind", c.kind},
                            {"value", c.value},
                            {"threshold", c.threshold},
                            {"shown", Shown(c, c.value)},
                            {"pass", c.pass}});
  }
  std::printf("%s\n", j.dump(2).c_str());
}

// H of a strategy that synchronizes every H steps (0 for ddp and zo).
int SyncEvery(const StrategyConfig& config) {
  return std::visit(
      [](const auto& o) {
        if constexpr (requires { o.sync_every; }) {
          return o.sync_every;
        } else {
          return 0;
        }
      },
      config);
}

// The entries --only names (all without it). kInvalidArgument naming an
// unknown or repeated name and listing the valid ones.
Result<std::vector<Entry>> Selected(const std::string& only) {
  std::vector<Entry> all = Entries();
  if (only.empty()) return all;
  std::string valid;
  for (const Entry& e : all) valid += (valid.empty() ? "" : ", ") + e.label;
  std::vector<Entry> out;
  std::stringstream ss(only);
  for (std::string name; std::getline(ss, name, ',');) {
    auto it = std::find_if(all.begin(), all.end(), [&](const Entry& e) { return e.label == name; });
    if (it == all.end()) {
      return InvalidArgumentError("--only: unknown strategy '" + name + "' (" + valid + ")");
    }
    out.push_back(*it);
  }
  // The table and the ratios put ddp first, as without --only.
  std::stable_partition(out.begin(), out.end(), [](const Entry& e) { return e.label == "ddp"; });
  return out;
}

int Run(const Options& o) {
  if (o.steps < 1 || o.steps > 10'000'000) return Fail("--steps must be in 1..10000000");
  if (o.workers < 1 || o.workers > 64) return Fail("--workers must be in 1..64");
  if (o.seeds < 1 || o.seeds > 100) return Fail("--seeds must be in 1..100");
  Result<std::vector<Entry>> selected = Selected(o.only);
  if (!selected.ok()) return Fail(selected.status());
  const std::vector<Entry>& entries = *selected;
  for (const Entry& e : entries) {
    const int h = SyncEvery(e.config);
    if (o.steps < h) {
      std::fprintf(stderr,
                   "tern: warning: --steps %lld is fewer than %s's H = %d: it never "
                   "synchronizes in this run\n",
                   static_cast<long long>(o.steps), e.label.c_str(), h);
    }
  }
  algo::toy::ToyRunOptions run = TaskOptions(o);
  run.progress_every = std::max<int64_t>(1, o.steps / 4);
  const algo::toy::GaussianMixture data = algo::toy::MakeGaussianMixture(run.data);
  std::vector<Row> rows;
  for (const Entry& e : entries) {
    Row row{e, {}, {}};
    for (int k = 0; k < o.seeds; ++k) {
      run.seed = o.seed + static_cast<uint64_t>(k);
      run.progress = [&](int64_t step) {
        std::fprintf(stderr, "[bench strategies] %s (seed %llu): step %lld/%lld\n",
                     e.label.c_str(), static_cast<unsigned long long>(run.seed),
                     static_cast<long long>(step), static_cast<long long>(o.steps));
      };
      Result<algo::toy::ToyRunResult> r = algo::toy::RunToyTraining(e.config, run, data);
      if (!r.ok()) return Fail(r.status().WithContext(e.label));
      row.losses.push_back(r->eval_loss);
      if (k == 0) {
        row.result = *r;
        row.result.eval_loss = row.result.eval_accuracy = 0;
      }
      row.result.eval_loss += r->eval_loss / o.seeds;
      row.result.eval_accuracy += r->eval_accuracy / o.seeds;
    }
    rows.push_back(std::move(row));
  }
  const std::vector<Check> checks = Targets(rows);
  o.json ? PrintJson(rows, checks, o) : PrintTable(rows, checks, o);
  std::fflush(stdout);
  if (!o.check) return 0;
  std::string failed;
  for (const Check& c : checks) {
    if (!c.pass) failed += (failed.empty() ? "" : "; ") + c.name + " " + Shown(c, c.value);
  }
  if (checks.empty()) return Fail("--check: no target applies (they need ddp with diloco or streaming-diloco)");
  if (!failed.empty()) return Fail("--check: targets missed: " + failed);
  return 0;
}

}  // namespace

TERN_COMMAND(BenchStrategies, "bench strategies") {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = AddCommand(
      root, {"bench", "strategies"},
      "Train a toy Gaussian-mixture MLP with 4 local workers by data-parallel SGD and each "
      "strategy; print final loss, bytes per worker, peak message and ratios vs data-parallel",
      [o] { return Run(*o); });
  cmd->add_flag("--json", o->json,
                "print JSON instead of a table (stdout holds only the JSON; progress goes to "
                "stderr)");
  cmd->add_flag("--check", o->check,
                "exit 1 (one line on stderr) if a target is missed or none applies");
  cmd->add_option("--steps", o->steps, "inner steps per run (default 4000)");
  cmd->add_option("--seeds", o->seeds,
                  "runs per strategy with seeds seed, seed+1, ...; losses are averaged (default 1)");
  cmd->add_option("--workers", o->workers, "local workers (default 4)");
  cmd->add_option("--only", o->only,
                  "comma-separated subset: ddp,diloco,streaming-diloco,async-diloco,noloco,"
                  "local-sgd,co2,zo (ddp is the baseline of the ratios)");
  cmd->add_option("--seed", o->seed, "model and batch seed (default 1)");
}

}  // namespace tern::cli
