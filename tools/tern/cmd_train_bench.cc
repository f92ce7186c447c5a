// `tern bench trainer`: seconds per training step of the built-in models on
// Fashion-MNIST, and optionally whole epochs with their test accuracy.
//
// Steps are timed one by one after a warm-up; the median is printed with
// the 10th and 90th percentiles (the machine is shared and noisy). The
// reference column quotes toolchain.md's measurements on the same kind of
// machine (1 thread, OpenBLAS, batch 64); it is not measured in this run.
//
// Built only when the torch trainer is (tern_train defines TERN_HAVE_TRAIN
// for what links it).
#ifdef TERN_HAVE_TRAIN
#include <algorithm>
#include <cstdio>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "command.h"
#include "train/runtime.h"
#include "train/trainer.h"
#include "util/format.h"
#include "util/clock.h"

namespace tern::cli {
namespace {

using train::ModelKind;

struct BenchOptions {
  std::string model = "all";
  int threads = 1;
  int steps = 200;
  int warmup = 20;
  int batch = 64;
  int epochs = 0;
  uint64_t seed = 1;
  bool json = false;
};

struct ModelResult {
  std::string model;
  size_t params = 0;
  double p10 = 0, median = 0, p90 = 0;  // seconds per step
  double data = 0, compute = 0, optimizer = 0;  // medians of the parts
  double epoch_seconds = 0;            // per epoch (epochs > 0)
  double test_accuracy = -1, test_loss = -1;
};

// Reference seconds per epoch from toolchain.md (1 thread, OpenBLAS).
double ReferenceEpochSeconds(ModelKind kind) { return kind == ModelKind::kMlp ? 1.0 : 6.45; }

Result<ModelResult> BenchModel(ModelKind kind, const BenchOptions& o,
                               std::shared_ptr<const train::FashionMnist> data) {
  train::TrainerOptions t;
  t.model.kind = kind;
  t.model.seed = o.seed;
  t.data_seed = o.seed;
  t.batch_size = o.batch;
  std::vector<uint32_t> shard(static_cast<size_t>(data->train.count));
  std::iota(shard.begin(), shard.end(), 0u);
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<train::Trainer> trainer, train::Trainer::Create(t, data, shard));
  ModelResult r;
  r.model = std::string(train::ModelKindName(kind));
  r.params = trainer->model().num_parameters();
  std::vector<double> seconds, data_s, compute_s, optimizer_s;
  for (int i = 0; i < o.warmup + o.steps; ++i) {
    TERN_ASSIGN_OR_RETURN(train::StepStats s, trainer->Step());
    if (i < o.warmup) continue;
    seconds.push_back(s.total_seconds);
    data_s.push_back(s.data_seconds);
    compute_s.push_back(s.compute_seconds);
    optimizer_s.push_back(s.optimizer_seconds);
  }
  r.p10 = Percentile(seconds, 0.1);
  r.median = Percentile(seconds, 0.5);
  r.p90 = Percentile(seconds, 0.9);
  r.data = Percentile(data_s, 0.5);
  r.compute = Percentile(compute_s, 0.5);
  r.optimizer = Percentile(optimizer_s, 0.5);
  if (o.epochs == 0) return r;

  // Fresh model, whole epochs, then the full test set.
  TERN_ASSIGN_OR_RETURN(trainer, train::Trainer::Create(t, data, shard));
  const int64_t steps_per_epoch = data->train.count / o.batch;
  const int64_t total = steps_per_epoch * o.epochs;
  double t0 = NowSeconds();
  for (int64_t i = 0; i < total; ++i) {
    TERN_RETURN_IF_ERROR(trainer->Step().status());
    if ((i + 1) % (total / 10 == 0 ? 1 : total / 10) == 0) {
      std::fprintf(stderr, "\r%s: step %lld/%lld, %.1f s", r.model.c_str(), static_cast<long long>(i + 1),
                   static_cast<long long>(total), NowSeconds() - t0);
    }
  }
  r.epoch_seconds = (NowSeconds() - t0) / o.epochs;
  std::fprintf(stderr, "\n");
  TERN_ASSIGN_OR_RETURN(train::EvalResult e, trainer->Evaluate(-1));
  r.test_accuracy = e.accuracy;
  r.test_loss = e.loss;
  return r;
}

void PrintTable(const std::vector<ModelResult>& results, const BenchOptions& o) {
  std::printf("%-5s %9s %12s %12s %12s %14s %10s\n", "model", "params", "s/step p10", "median", "p90",
              "s/epoch(est)", "ref s/ep");
  for (const ModelResult& r : results) {
    ModelKind kind = r.model == "mlp" ? ModelKind::kMlp : ModelKind::kCnn;
    double est = r.median * (60000.0 / o.batch);
    std::printf("%-5s %9zu %12.6f %12.6f %12.6f %14.2f %10.2f  (ratio %.2f)\n", r.model.c_str(), r.params, r.p10,
                r.median, r.p90, est, ReferenceEpochSeconds(kind), est / ReferenceEpochSeconds(kind));
    std::printf("      median parts: data %.6f, forward+backward %.6f, AdamW %.6f s\n", r.data, r.compute,
                r.optimizer);
    if (r.epoch_seconds > 0) {
      std::printf("      %d epoch(s): %.2f s/epoch, test accuracy %.4f, test loss %.4f\n", o.epochs,
                  r.epoch_seconds, r.test_accuracy, r.test_loss);
    }
  }
}

int Run(const BenchOptions& o) {
  Result<train::RuntimeInfo> rt = train::InitTrainerRuntime(o.threads);
  if (!rt.ok()) return Fail(rt.status());
  double t0 = NowSeconds();
  Result<train::FashionMnist> loaded = train::LoadFashionMnist();
  if (!loaded.ok()) return Fail(loaded.status());
  const double load_seconds = NowSeconds() - t0;
  auto data = std::make_shared<const train::FashionMnist>(std::move(loaded).value());

  std::vector<ModelResult> results;
  for (const char* name : {"mlp", "cnn"}) {
    if (o.model != "all" && o.model != name) continue;
    Result<ModelResult> r = BenchModel(*train::ParseModelKind(name), o, data);
    if (!r.ok()) return Fail(r.status());
    results.push_back(*r);
  }
  if (o.json) {
    nlohmann::json j = {{"blas", train::BlasKindName(rt->blas.kind)}, {"blas_path", rt->blas.path},
                        {"threads", rt->threads}, {"batch", o.batch}, {"load_seconds", load_seconds}};
    for (const ModelResult& r : results) {
      j["models"].push_back({{"model", r.model}, {"params", r.params}, {"step_seconds_p10", r.p10},
                             {"step_seconds_median", r.median}, {"step_seconds_p90", r.p90},
                             {"data_seconds_median", r.data}, {"compute_seconds_median", r.compute},
                             {"optimizer_seconds_median", r.optimizer},
                             {"epoch_seconds", r.epoch_seconds}, {"test_accuracy", r.test_accuracy},
                             {"test_loss", r.test_loss}});
    }
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("BLAS: %s (%s), torch threads %d, batch %d\n", std::string(train::BlasKindName(rt->blas.kind)).c_str(),
              rt->blas.path.c_str(), rt->threads, o.batch);
  std::printf("Fashion-MNIST loaded in %.3f s (%lld train, %lld test)\n", load_seconds,
              static_cast<long long>(data->train.count), static_cast<long long>(data->test.count));
  PrintTable(results, o);
  return 0;
}

}  // namespace
}  // namespace tern::cli

TERN_COMMAND(BenchTrainer, "bench trainer") {
  auto o = std::make_shared<tern::cli::BenchOptions>();
  CLI::App* cmd = tern::cli::AddCommand(
      root, {"bench", "trainer"},
      "Seconds per training step of the built-in MLP and CNN on Fashion-MNIST (median of timed "
      "steps; the reference column is toolchain.md's 1-thread OpenBLAS measurement)",
      [o] { return tern::cli::Run(*o); });
  cmd->add_option("--model", o->model, "Model to time: mlp, cnn or all")
      ->check(CLI::IsMember({"mlp", "cnn", "all"}))
      ->capture_default_str();
  cmd->add_option("--threads", o->threads, "torch threads")->check(CLI::Range(1, 256))->capture_default_str();
  cmd->add_option("--steps", o->steps, "Timed steps per model")->check(CLI::Range(1, 100000))->capture_default_str();
  cmd->add_option("--warmup", o->warmup, "Untimed steps first")->check(CLI::Range(0, 10000))->capture_default_str();
  cmd->add_option("--batch", o->batch, "Batch size")->check(CLI::Range(1, 4096))->capture_default_str();
  cmd->add_option("--epochs", o->epochs, "Also train this many whole epochs from scratch and evaluate")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed")->capture_default_str();
  cmd->add_flag("--json", o->json, "Print the results as JSON");
}

#endif  // TERN_HAVE_TRAIN
