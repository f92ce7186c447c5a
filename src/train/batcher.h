// Mini-batches from one worker's shard: a seeded reshuffle every epoch, and
// assembly of the float images and int64 labels the model reads.
//
// Epoch e visits the shard in the order of a Fisher-Yates shuffle drawn from
// RngStream(seed, kDataShuffle, kBatchStreamTag | stream, e), so a worker's
// batch sequence depends only on (seed, stream, shard). Batches are
// consecutive windows of that order; a last window shorter than the batch
// is dropped (every step sees exactly batch_size samples), except that a
// shard smaller than one batch is served whole.
//
//   ShardBatcher b(shard, 64, seed, /*stream=*/rank);
//   std::span<const uint32_t> idx = b.Next();
//   AssembleBatch(data.train, idx, &images, &labels);
//
// Thread-safety: thread-compatible.
#ifndef TERN_TRAIN_BATCHER_H_
#define TERN_TRAIN_BATCHER_H_

#include <cstdint>
#include <span>
#include <vector>

#include "train/dataset.h"

namespace tern::train {

// Keeps batch-order streams apart from the partition's (which use a = 0).
inline constexpr uint64_t kBatchStreamTag = uint64_t{1} << 40;

class ShardBatcher {
 public:
  // REQUIRES: !shard.empty(), batch_size >= 1.
  ShardBatcher(std::vector<uint32_t> shard, int batch_size, uint64_t seed, uint64_t stream);

  // The indices of the next batch; valid until the next call.
  std::span<const uint32_t> Next();
  // Positions the batcher so that the next Next() returns batch number
  // `batch` (0-based) of the sequence, exactly as `batch` calls of Next()
  // would have left it. A replacement worker uses it to take up its shard
  // where the run is. REQUIRES: batch >= 0. Costs one shuffle.
  void Seek(int64_t batch);

  int64_t epoch() const { return epoch_; }  // of the batch last returned
  int64_t batches_per_epoch() const;
  size_t shard_size() const { return order_.size(); }

 private:
  void Reshuffle();

  std::vector<uint32_t> order_;
  int batch_size_;
  uint64_t seed_;
  uint64_t stream_;
  int64_t epoch_ = -1;
  size_t cursor_ = 0;
};

// Fills `images` ([n, rows * cols], normalised with PixelToFloat) and
// `labels` for the samples `indices` of `set`, reusing the vectors'
// capacity. REQUIRES: every index < set.count.
void AssembleBatch(const ImageSet& set, std::span<const uint32_t> indices,
                   std::vector<float>* images, std::vector<int64_t>* labels);

}  // namespace tern::train

#endif  // TERN_TRAIN_BATCHER_H_
