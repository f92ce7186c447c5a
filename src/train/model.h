// Small image classifiers on libtorch whose parameters and gradients each
// live in ONE contiguous fp32 buffer.
//
// Every parameter tensor is a view into the flat parameter buffer, and its
// gradient a view into the flat gradient buffer, so the communication layer
// reads and writes parameters and gradients in place, with zero copies:
// writing into flat_parameters() changes what Forward computes, and
// backward accumulates straight into flat_gradients(). Nothing ever replaces
// those tensors (optimizers update in place; ZeroGradients clears in place),
// and CheckStorage() verifies it.
//
// Models (input: N images of rows x cols, one channel; 28 x 28 for
// Fashion-MNIST):
//   kMlp  flatten - linear(784 -> hidden) - relu - linear(hidden -> classes)
//   kCnn  conv(1 -> 16, 5) - relu - maxpool 2 - conv(16 -> 32, 5) - relu -
//         maxpool 2 - linear(32 * 4 * 4 = 512 -> classes)
// Initialisation is torch's default distribution (uniform in +-1/sqrt(fan_in)
// for weights and biases) drawn from Philox (RngPurpose::kModelInit, one
// stream per parameter), so a seed gives the same bits on every host.
//
// This header does not include torch (pimpl): only model.cc does.
//
//   ModelOptions o; o.kind = ModelKind::kCnn; o.seed = 7;
//   TERN_ASSIGN_OR_RETURN(std::unique_ptr<Model> m, Model::Create(o));
//   TERN_ASSIGN_OR_RETURN(float loss, m->ForwardBackward(batch));
//   std::span<float> g = m->flat_gradients();   // all-reduce in place
//
// Thread-safety: thread-compatible (one thread at a time per Model).
#ifndef TERN_TRAIN_MODEL_H_
#define TERN_TRAIN_MODEL_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tern/status.h"
#include "train/model_spec.h"

namespace tern::train {

// One parameter tensor: views into the flat buffers. The spans stay valid
// for the Model's lifetime.
struct NamedParameter {
  std::string name;            // "fc1.weight", "conv2.bias", ...
  std::vector<int64_t> shape;  // torch layout (out, in, kh, kw) / (out, in) / (out)
  size_t offset = 0;           // into the flat buffers, in floats
  std::span<float> values;
  std::span<float> grads;
};

// A batch of normalised images (see PixelToFloat in dataset.h), row-major
// [size, rows * cols], and their labels in [0, num_classes). The caller owns
// the memory; it is only read during the call.
struct Batch {
  std::span<const float> images;
  std::span<const int64_t> labels;
};

// Forward-only results on one batch.
struct BatchEval {
  double loss_sum = 0.0;  // sum over the batch of the cross-entropy
  int64_t correct = 0;    // argmax(logits) == label
  int64_t count = 0;
};

class Model {
 public:
  // The first call in a process without InitTrainerRuntime (runtime.h)
  // sets torch to 1 thread (see there why). Returns kInvalidArgument for
  // options ValidateModelOptions refuses (model_spec.h).
  static Result<std::unique_ptr<Model>> Create(const ModelOptions& options);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelOptions& options() const;
  size_t num_parameters() const;  // total floats
  std::span<float> flat_parameters();
  std::span<const float> flat_parameters() const;
  std::span<float> flat_gradients();
  // In the order of the flat buffers; offsets increase, no gaps.
  std::span<const NamedParameter> parameters() const;

  // Sets every gradient to zero, in place.
  void ZeroGradients();
  // Forward and backward of the mean cross-entropy over the batch; ADDS the
  // gradient to flat_gradients() (call ZeroGradients first for a fresh one)
  // and returns the mean loss. kInvalidArgument if the batch's sizes or
  // labels do not fit the model; kInternal if torch throws. Blocks (compute).
  Result<float> ForwardBackward(const Batch& batch);
  // Forward only, no gradient: loss sum and correct count.
  Result<BatchEval> Evaluate(const Batch& batch) const;
  // Writes the logits, row-major [batch, num_classes], into `out`.
  Status Logits(const Batch& batch, std::span<float> out) const;

  // Verifies that every torch parameter and gradient still points into the
  // flat buffers. kInternal if something replaced one.
  Status CheckStorage() const;

  struct Impl;

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Sets the number of threads torch (and OpenBLAS through OpenMP) use in this
// process. kInvalidArgument unless 1 <= threads <= 256. Prefer
// InitTrainerRuntime (runtime.h), which also checks the BLAS.
Status SetTorchThreads(int threads);
int TorchThreads();

}  // namespace tern::train

#endif  // TERN_TRAIN_MODEL_H_
