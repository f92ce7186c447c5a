// Splitting a training set across N workers, identically on every host.
//
// Each worker process computes the whole partition from (seed, N) on its own
// and keeps its shard, so nothing about the split is ever sent. The draws
// come from Philox streams (util/philox.h) and everything derived from them
// is integer arithmetic or the bit-reproducible math of det_math.h, so every
// IEEE-754 host computes the same shards.
//
//   IID:       a seeded permutation (RngPurpose::kDataShuffle) cut into N
//              contiguous slices whose sizes differ by at most one.
//   Dirichlet: for each class, worker proportions p ~ Dirichlet(alpha * 1_N)
//              (RngPurpose::kDirichlet), the class's samples shuffled and cut
//              by those proportions (largest remainder). Small alpha gives
//              each worker few classes; large alpha approaches IID label
//              mixes (Hsu et al. 2019, "Measuring the effects of non-identical
//              data distribution").
//
//   TERN_ASSIGN_OR_RETURN(Shards s, PartitionDirichlet(d.train.labels, 10, 4, 0.1, seed));
//   std::vector<uint32_t> mine = std::move(s[rank]);
//
// Thread-safety: pure functions.
#ifndef TERN_TRAIN_PARTITION_H_
#define TERN_TRAIN_PARTITION_H_

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "tern/status.h"

namespace tern::train {

// shards[w] holds the sample indices of worker w. Together the shards are
// disjoint and cover [0, num_samples).
using Shards = std::vector<std::vector<uint32_t>>;

inline constexpr int kMaxWorkers = 1 << 16;
inline constexpr double kMinDirichletAlpha = 1e-3;
inline constexpr double kMaxDirichletAlpha = 1e4;
// Dirichlet draws that leave a worker below `min_per_worker` samples are
// redrawn (next attempt number in the stream key) at most this many times.
inline constexpr int kMaxDirichletAttempts = 100;

// IID split. Returns kInvalidArgument unless 1 <= num_workers <= kMaxWorkers,
// num_workers <= num_samples and num_samples < 2^32.
Result<Shards> PartitionIid(int64_t num_samples, int num_workers, uint64_t seed);

// Label-skewed split. Returns kInvalidArgument for bad sizes (as above), a
// label >= num_classes, alpha outside [kMinDirichletAlpha,
// kMaxDirichletAlpha], or when no draw within kMaxDirichletAttempts gives
// every worker at least `min_per_worker` samples (raise alpha).
Result<Shards> PartitionDirichlet(std::span<const uint8_t> labels, int num_classes,
                                  int num_workers, double alpha, uint64_t seed,
                                  int64_t min_per_worker = 1);

// How to split, as a command line names it.
struct SplitSpec {
  enum class Kind { kIid, kDirichlet } kind = Kind::kIid;
  double alpha = 0.0;  // kDirichlet only
};
// Parses "iid" or "dirichlet:ALPHA" (e.g. "dirichlet:0.3"). kInvalidArgument
// otherwise.
Result<SplitSpec> ParseSplitSpec(std::string_view text);

// Applies a SplitSpec to labelled data.
Result<Shards> Partition(const SplitSpec& spec, std::span<const uint8_t> labels, int num_classes,
                         int num_workers, uint64_t seed);

}  // namespace tern::train

#endif  // TERN_TRAIN_PARTITION_H_
