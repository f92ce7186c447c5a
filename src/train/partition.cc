#include "train/partition.h"

#include <algorithm>
#include <charconv>
#include <numeric>
#include <string>

#include "train/det_math.h"
#include "util/check.h"
#include "util/philox.h"

namespace tern::train {
namespace {

// Stream ids inside RngPurpose::kDirichlet: the proportions and the
// within-class shuffle never share bits.
constexpr uint64_t kProportionsStream = 0;
constexpr uint64_t kClassShuffleStream = 1;

Status CheckSizes(int64_t num_samples, int num_workers) {
  if (num_workers < 1 || num_workers > kMaxWorkers) {
    return InvalidArgumentError("number of workers must be in [1, " + std::to_string(kMaxWorkers) +
                                "], got " + std::to_string(num_workers));
  }
  if (num_samples >= (int64_t{1} << 32)) return InvalidArgumentError("too many samples for uint32 indices");
  if (num_samples < num_workers) {
    return InvalidArgumentError(std::to_string(num_samples) + " samples cannot feed " +
                                std::to_string(num_workers) + " workers");
  }
  return OkStatus();
}

void Shuffle(std::vector<uint32_t>& v, RngStream& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.UniformInt(i)]);
}

// Splits n items by proportions (summing to about 1): floors, then the
// remainder one by one to the largest fractional parts, lower index first
// on ties. Deterministic given the same doubles.
std::vector<int64_t> LargestRemainder(int64_t n, const std::vector<double>& p) {
  std::vector<int64_t> counts(p.size());
  std::vector<double> frac(p.size());
  int64_t given = 0;
  for (size_t w = 0; w < p.size(); ++w) {
    double exact = static_cast<double>(n) * p[w];
    counts[w] = std::min<int64_t>(n, static_cast<int64_t>(exact));
    frac[w] = exact - static_cast<double>(counts[w]);
    given += counts[w];
  }
  std::vector<size_t> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return frac[a] > frac[b]; });
  // Each floor is at most its exact share, so the floors never exceed n and
  // fall short by less than the number of workers.
  TERN_CHECK_LE(given, n);
  for (size_t i = 0; given < n; i = (i + 1) % order.size(), ++given) ++counts[order[i]];
  return counts;
}

// Worker proportions for one class: normalised Gamma draws, in log form so
// that tiny alphas do not underflow to an all-zero vector.
std::vector<double> DirichletDraw(RngStream& rng, int num_workers, double alpha) {
  std::vector<double> logs(num_workers);
  for (double& l : logs) l = SampleLogGamma(rng, alpha);
  double top = *std::max_element(logs.begin(), logs.end());
  double sum = 0.0;
  for (double& l : logs) sum += (l = DetExp(l - top));
  for (double& l : logs) l /= sum;
  return logs;
}

Shards DirichletAttempt(const std::vector<std::vector<uint32_t>>& by_class, int num_workers,
                        double alpha, uint64_t seed, uint64_t attempt) {
  Shards shards(num_workers);
  for (size_t c = 0; c < by_class.size(); ++c) {
    RngStream prop(seed, RngPurpose::kDirichlet, attempt << 32 | c, kProportionsStream);
    std::vector<int64_t> counts =
        LargestRemainder(static_cast<int64_t>(by_class[c].size()), DirichletDraw(prop, num_workers, alpha));
    std::vector<uint32_t> members = by_class[c];
    RngStream mix(seed, RngPurpose::kDirichlet, attempt << 32 | c, kClassShuffleStream);
    Shuffle(members, mix);
    size_t at = 0;
    for (int w = 0; w < num_workers; ++w) {
      shards[w].insert(shards[w].end(), members.begin() + at, members.begin() + at + counts[w]);
      at += counts[w];
    }
  }
  return shards;
}

}  // namespace

Result<Shards> PartitionIid(int64_t num_samples, int num_workers, uint64_t seed) {
  TERN_RETURN_IF_ERROR(CheckSizes(num_samples, num_workers));
  std::vector<uint32_t> perm(num_samples);
  std::iota(perm.begin(), perm.end(), 0u);
  RngStream rng(seed, RngPurpose::kDataShuffle, 0, static_cast<uint64_t>(num_workers));
  Shuffle(perm, rng);
  Shards shards(num_workers);
  for (int w = 0; w < num_workers; ++w) {
    int64_t begin = num_samples * w / num_workers;
    int64_t end = num_samples * (w + 1) / num_workers;
    shards[w].assign(perm.begin() + begin, perm.begin() + end);
  }
  return shards;
}

Result<Shards> PartitionDirichlet(std::span<const uint8_t> labels, int num_classes, int num_workers,
                                  double alpha, uint64_t seed, int64_t min_per_worker) {
  TERN_RETURN_IF_ERROR(CheckSizes(static_cast<int64_t>(labels.size()), num_workers));
  if (!(alpha >= kMinDirichletAlpha && alpha <= kMaxDirichletAlpha)) {
    return InvalidArgumentError("Dirichlet alpha must be in [0.001, 10000], got " + std::to_string(alpha));
  }
  if (num_classes < 1 || num_classes > 256) return InvalidArgumentError("num_classes must be in [1, 256]");
  std::vector<std::vector<uint32_t>> by_class(num_classes);
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= num_classes) return InvalidArgumentError("label out of range at index " + std::to_string(i));
    by_class[labels[i]].push_back(static_cast<uint32_t>(i));
  }
  for (uint64_t attempt = 0; attempt < kMaxDirichletAttempts; ++attempt) {
    Shards shards = DirichletAttempt(by_class, num_workers, alpha, seed, attempt);
    bool enough = std::all_of(shards.begin(), shards.end(), [&](const std::vector<uint32_t>& s) {
      return static_cast<int64_t>(s.size()) >= min_per_worker;
    });
    if (enough) return shards;
  }
  return InvalidArgumentError("no Dirichlet(" + std::to_string(alpha) + ") draw in " +
                              std::to_string(kMaxDirichletAttempts) + " attempts gave each of " +
                              std::to_string(num_workers) + " workers at least " +
                              std::to_string(min_per_worker) + " samples; raise alpha");
}

Result<SplitSpec> ParseSplitSpec(std::string_view text) {
  SplitSpec spec;
  if (text == "iid") return spec;
  constexpr std::string_view kPrefix = "dirichlet:";
  if (text.substr(0, kPrefix.size()) == kPrefix) {
    std::string_view num = text.substr(kPrefix.size());
    double alpha = 0.0;
    auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), alpha);
    if (ec == std::errc() && end == num.data() + num.size() && alpha >= kMinDirichletAlpha &&
        alpha <= kMaxDirichletAlpha) {
      spec.kind = SplitSpec::Kind::kDirichlet;
      spec.alpha = alpha;
      return spec;
    }
  }
  return InvalidArgumentError("split must be 'iid' or 'dirichlet:ALPHA' with ALPHA in [0.001, 10000], got '" +
                              std::string(text) + "'");
}

Result<Shards> Partition(const SplitSpec& spec, std::span<const uint8_t> labels, int num_classes,
                         int num_workers, uint64_t seed) {
  if (spec.kind == SplitSpec::Kind::kIid) {
    return PartitionIid(static_cast<int64_t>(labels.size()), num_workers, seed);
  }
  return PartitionDirichlet(labels, num_classes, num_workers, spec.alpha, seed);
}

}  // namespace tern::train
