// A synthetic task without libtorch, for strategy benchmarks and tests: the
// Gaussian-mixture classification of reference/training-algorithms.md
// section 8, and a small ReLU MLP on flat fp32 buffers with a hand-written
// backward pass (trained with algo/adamw.h, the trainer's AdamW).
//
// Data: `classes` x `clusters` centres drawn N(0, centre_scale^2 I) in
// `dim` dimensions; a sample picks a class and one of its clusters
// uniformly and adds N(0, noise^2 I). Everything comes from Philox
// (kModelInit for centres and weights, kDataShuffle for samples and
// batches), so every process builds the same data.
//
// Thread-safety: Dataset and Mlp are immutable after construction and may be
// shared; Mlp's methods take caller-owned buffers (one set per thread).
#ifndef TERN_ALGO_TOY_TASK_H_
#define TERN_ALGO_TOY_TASK_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tern/strategy.h"

namespace tern::algo::toy {

struct GaussianMixtureOptions {
  int dim = 128;
  int classes = 4;
  int clusters = 8;       // per class
  float centre_scale = 1.0f;
  float noise = 0.5f;
  size_t train = 32768;
  size_t eval = 4096;
  uint64_t seed = 42;
};

struct Dataset {
  int dim = 0;
  std::vector<float> x;  // [n, dim] row-major
  std::vector<int> y;
  size_t size() const { return y.size(); }
};

struct GaussianMixture {
  Dataset train, eval;
};
GaussianMixture MakeGaussianMixture(const GaussianMixtureOptions& o);

// Batch `index` of `batch` samples for one worker: drawn with replacement
// from train samples [shard_begin, shard_end) by Philox(seed, kDataShuffle,
// stream, index). Writes batch * dim inputs and batch labels.
void SampleBatch(const Dataset& d, size_t shard_begin, size_t shard_end, uint64_t seed,
                 uint64_t stream, uint64_t index, int batch, std::vector<float>* x,
                 std::vector<int>* y);

// Fully connected ReLU network, widths[0] inputs -> ... -> widths.back()
// logits, mean softmax cross-entropy. Parameters per layer l: weight
// [widths[l], widths[l+1]] row-major (input-major, so the forward pass is
// axpys the compiler vectorizes without reassociating), then bias
// [widths[l+1]], named "fc<l+1>.weight" / "fc<l+1>.bias".
class Mlp {
 public:
  explicit Mlp(std::vector<int> widths);

  size_t num_params() const { return num_params_; }
  std::vector<ParamSlice> Layout() const;
  // He-uniform weights, zero biases, from Philox(seed, kModelInit).
  void Init(std::span<float> params, uint64_t seed) const;

  // Mean loss over the batch; `grads` (num_params) receives its gradient.
  float LossAndGradient(std::span<const float> params, std::span<const float> x,
                        std::span<const int> y, std::span<float> grads) const;
  float Loss(std::span<const float> params, std::span<const float> x,
             std::span<const int> y) const;
  // Mean loss and accuracy over a dataset, in chunks.
  void Evaluate(std::span<const float> params, const Dataset& d, double* loss,
                double* accuracy) const;

 private:
  // Forward pass; activations per layer (post-ReLU, logits last).
  void Forward(std::span<const float> params, std::span<const float> x, int batch,
               std::vector<std::vector<float>>* acts) const;
  float CrossEntropy(const std::vector<float>& logits, std::span<const int> y, int batch,
                     std::vector<float>* dlogits, int* correct) const;

  std::vector<int> widths_;
  std::vector<size_t> offsets_;  // weight offset of each layer
  size_t num_params_ = 0;
};


}  // namespace tern::algo::toy

#endif  // TERN_ALGO_TOY_TASK_H_
