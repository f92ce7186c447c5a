// `tern data info`: loads Fashion-MNIST, says how long it took, and shows how
// a split gives the training set to N workers (shard sizes and label mix),
// exactly as every worker process computes it.
//
// Built only when the trainer is (TERN_HAVE_TRAIN, see cmd_train_bench.cc).
#ifdef TERN_HAVE_TRAIN
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "command.h"
#include "train/dataset.h"
#include "train/partition.h"
#include "util/clock.h"

namespace tern::cli {
namespace {

struct DataOptions {
  std::string dir = train::kFashionMnistDir;
  int workers = 0;
  std::string split = "iid";
  uint64_t seed = 1;  // tern train's default (RunConfig::seed): the split a default run uses
  bool json = false;
};

std::vector<int64_t> Histogram(const train::ImageSet& set, const std::vector<uint32_t>& idx) {
  std::vector<int64_t> h(static_cast<size_t>(set.num_classes), 0);
  for (uint32_t i : idx) ++h[set.labels[i]];
  return h;
}

std::string Row(const std::vector<int64_t>& h) {
  std::string s;
  for (int64_t c : h) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "%6lld", static_cast<long long>(c));
    s += buf;
  }
  return s;
}

int Run(const DataOptions& o) {
  train::FashionMnistOptions fo;
  fo.dir = o.dir;
  double t0 = NowSeconds();
  Result<train::FashionMnist> d = train::LoadFashionMnist(fo);
  if (!d.ok()) return Fail(d.status());
  const double seconds = NowSeconds() - t0;
  std::vector<uint32_t> all(static_cast<size_t>(d->train.count));
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint32_t>(i);

  train::Shards shards;
  if (o.workers > 0) {
    Result<train::SplitSpec> spec = train::ParseSplitSpec(o.split);
    if (!spec.ok()) return Fail(spec.status());
    Result<train::Shards> s = train::Partition(*spec, d->train.labels, d->train.num_classes, o.workers, o.seed);
    if (!s.ok()) return Fail(s.status());
    shards = std::move(s).value();
  }
  if (o.json) {
    nlohmann::json j = {{"dir", o.dir},          {"load_seconds", seconds},   {"train", d->train.count},
                        {"test", d->test.count}, {"rows", d->train.rows},     {"cols", d->train.cols},
                        {"classes", Histogram(d->train, all)}, {"split", o.split}, {"seed", o.seed}};
    j["shards"] = nlohmann::json::array();
    for (const auto& s : shards) j["shards"].push_back({{"size", s.size()}, {"classes", Histogram(d->train, s)}});
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("Fashion-MNIST from %s: %lld train, %lld test, %dx%d, loaded in %.3f s\n", o.dir.c_str(),
              static_cast<long long>(d->train.count), static_cast<long long>(d->test.count), d->train.rows,
              d->train.cols, seconds);
  std::printf("%-10s%s\n", "classes", Row(Histogram(d->train, all)).c_str());
  for (size_t w = 0; w < shards.size(); ++w) {
    std::printf("worker %-3zu%s  (%zu samples)\n", w, Row(Histogram(d->train, shards[w])).c_str(), shards[w].size());
  }
  return 0;
}

}  // namespace
}  // namespace tern::cli

TERN_COMMAND(DataInfo, "data info") {
  auto o = std::make_shared<tern::cli::DataOptions>();
  CLI::App* cmd = tern::cli::AddCommand(
      root, {"data", "info"},
      "Load Fashion-MNIST (timed) and show how --split gives it to --workers workers",
      [o] { return tern::cli::Run(*o); });
  cmd->add_option("--dir", o->dir, "Directory of the four IDX .gz files")->capture_default_str();
  cmd->add_option("--workers", o->workers, "Show the shards of this many workers (0: none)")
      ->check(CLI::Range(0, tern::train::kMaxWorkers))
      ->capture_default_str();
  cmd->add_option("--split", o->split, "iid or dirichlet:ALPHA (label skew; small ALPHA = few classes each)")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Run seed (the split depends only on seed and workers)")->capture_default_str();
  cmd->add_flag("--json", o->json, "Print the results as JSON");
}

#endif  // TERN_HAVE_TRAIN
