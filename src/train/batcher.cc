#include "train/batcher.h"

#include <algorithm>
#include <utility>

#include "util/check.h"
#include "util/philox.h"

namespace tern::train {

ShardBatcher::ShardBatcher(std::vector<uint32_t> shard, int batch_size, uint64_t seed, uint64_t stream)
    : order_(std::move(shard)), batch_size_(batch_size), seed_(seed), stream_(stream) {
  TERN_CHECK(!order_.empty());
  TERN_CHECK_GE(batch_size_, 1);
  // The shard's own order must not matter: start every epoch from sorted.
  std::sort(order_.begin(), order_.end());
  cursor_ = order_.size();  // the first Next() starts epoch 0
}

int64_t ShardBatcher::batches_per_epoch() const {
  int64_t full = static_cast<int64_t>(order_.size()) / batch_size_;
  return full == 0 ? 1 : full;
}

void ShardBatcher::Reshuffle() {
  ++epoch_;
  std::sort(order_.begin(), order_.end());
  RngStream rng(seed_, RngPurpose::kDataShuffle, kBatchStreamTag | stream_, static_cast<uint64_t>(epoch_));
  for (size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[rng.UniformInt(i)]);
  cursor_ = 0;
}

std::span<const uint32_t> ShardBatcher::Next() {
  const size_t batch = static_cast<size_t>(batch_size_);
  if (order_.size() < batch) {  // a tiny shard: the whole shard each time
    Reshuffle();
    cursor_ = order_.size();
    return order_;
  }
  if (cursor_ + batch > order_.size()) Reshuffle();
  std::span<const uint32_t> out(order_.data() + cursor_, batch);
  cursor_ += batch;
  return out;
}

void ShardBatcher::Seek(int64_t batch) {
  TERN_CHECK_GE(batch, 0);
  const size_t size = static_cast<size_t>(batch_size_);
  if (order_.size() < size) {  // every batch is a fresh epoch
    epoch_ = batch - 1;
    cursor_ = order_.size();
    return;
  }
  const int64_t per_epoch = batches_per_epoch();
  epoch_ = batch / per_epoch - 1;
  Reshuffle();  // epoch batch / per_epoch
  cursor_ = static_cast<size_t>(batch % per_epoch) * size;
}

void AssembleBatch(const ImageSet& set, std::span<const uint32_t> indices, std::vector<float>* images,
                   std::vector<int64_t>* labels) {
  const std::array<float, 256>& lut = PixelToFloat();
  const int64_t pixels = set.image_size();
  images->resize(indices.size() * static_cast<size_t>(pixels));
  labels->resize(indices.size());
  float* out = images->data();
  for (size_t i = 0; i < indices.size(); ++i) {
    TERN_CHECK_LT(static_cast<int64_t>(indices[i]), set.count);
    const uint8_t* img = set.image(indices[i]);
    for (int64_t k = 0; k < pixels; ++k) *out++ = lut[img[k]];
    (*labels)[i] = set.labels[indices[i]];
  }
}

}  // namespace tern::train
