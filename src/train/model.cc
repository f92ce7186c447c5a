// The only translation unit of tern that includes torch (12+ s and 1.5 GB to
// compile): every torch call of the trainer goes through Model.
#include "train/model.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>

#include "train/runtime.h"
#include "util/philox.h"

namespace tern::train {
namespace {

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};
using FloatBuffer = std::unique_ptr<float[], FreeDeleter>;

// 64-byte aligned and zeroed: cache lines and SIMD for the codecs.
FloatBuffer AllocateFloats(size_t n) {
  size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
  auto* p = static_cast<float*>(std::aligned_alloc(64, bytes == 0 ? 64 : bytes));
  std::memset(p, 0, bytes);
  return FloatBuffer(p);
}

Status FromTorch(const std::exception& e) {
  return InternalError(std::string("torch: ") + e.what());
}

}  // namespace

struct Model::Impl {
  ModelOptions options;
  size_t total = 0;
  FloatBuffer values;
  FloatBuffer grads;
  std::vector<NamedParameter> named;
  std::vector<torch::Tensor> tensors;  // leaves over `values`, grads over `grads`

  const torch::Tensor& P(size_t i) const { return tensors[i]; }

  torch::Tensor Forward(const torch::Tensor& images) const {
    if (options.kind == ModelKind::kMlp) {
      torch::Tensor x = images.view({images.size(0), -1});
      x = torch::relu(torch::linear(x, P(0), P(1)));
      return torch::linear(x, P(2), P(3));
    }
    torch::Tensor x = torch::conv2d(images, P(0), P(1));
    x = torch::max_pool2d(torch::relu(x), 2);
    x = torch::conv2d(x, P(2), P(3));
    x = torch::max_pool2d(torch::relu(x), 2);
    return torch::linear(x.flatten(1), P(4), P(5));
  }

  // Wraps the caller's batch without copying (from_blob never writes).
  Result<std::pair<torch::Tensor, torch::Tensor>> Wrap(const Batch& b) const {
    const int64_t n = static_cast<int64_t>(b.labels.size());
    const int64_t pixels = int64_t{options.image_rows} * options.image_cols;
    if (n == 0 || static_cast<int64_t>(b.images.size()) != n * pixels) {
      return InvalidArgumentError("batch of " + std::to_string(b.images.size()) + " floats and " +
                                  std::to_string(n) + " labels does not fit " +
                                  std::to_string(pixels) + "-pixel images");
    }
    for (int64_t label : b.labels) {
      if (label < 0 || label >= options.num_classes) return InvalidArgumentError("label out of range");
    }
    auto x = torch::from_blob(const_cast<float*>(b.images.data()),
                              {n, 1, options.image_rows, options.image_cols}, torch::kFloat32);
    auto y = torch::from_blob(const_cast<int64_t*>(b.labels.data()), {n}, torch::kInt64);
    return std::make_pair(x, y);
  }
};

Result<std::unique_ptr<Model>> Model::Create(const ModelOptions& options) {
  TERN_RETURN_IF_ERROR(ValidateModelOptions(options));
  EnsureTrainerRuntime();
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  std::vector<ParamSpec> specs = ModelArchitecture(options);
  for (const ParamSpec& s : specs) {
    int64_t n = 1;
    for (int64_t d : s.shape) n *= d;
    impl->total += static_cast<size_t>(n);
  }
  impl->values = AllocateFloats(impl->total);
  impl->grads = AllocateFloats(impl->total);
  size_t offset = 0;
  try {
    for (size_t i = 0; i < specs.size(); ++i) {
      const ParamSpec& s = specs[i];
      size_t n = 1;
      for (int64_t d : s.shape) n *= static_cast<size_t>(d);
      float* v = impl->values.get() + offset;
      float* g = impl->grads.get() + offset;
      const float bound = 1.0f / std::sqrt(static_cast<float>(s.fan_in));
      RngStream rng(options.seed, RngPurpose::kModelInit, i, 0);
      for (size_t k = 0; k < n; ++k) v[k] = (2.0f * rng.UniformFloat() - 1.0f) * bound;
      torch::Tensor t = torch::from_blob(v, s.shape, torch::kFloat32).requires_grad_(true);
      t.mutable_grad() = torch::from_blob(g, s.shape, torch::kFloat32);
      impl->tensors.push_back(t);
      impl->named.push_back({s.name, s.shape, offset, {v, n}, {g, n}});
      offset += n;
    }
  } catch (const std::exception& e) {
    return FromTorch(e);
  }
  return std::unique_ptr<Model>(new Model(std::move(impl)));
}

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

const ModelOptions& Model::options() const { return impl_->options; }
size_t Model::num_parameters() const { return impl_->total; }
std::span<float> Model::flat_parameters() { return {impl_->values.get(), impl_->total}; }
std::span<const float> Model::flat_parameters() const { return {impl_->values.get(), impl_->total}; }
std::span<float> Model::flat_gradients() { return {impl_->grads.get(), impl_->total}; }
std::span<const NamedParameter> Model::parameters() const { return impl_->named; }

void Model::ZeroGradients() { std::memset(impl_->grads.get(), 0, impl_->total * sizeof(float)); }

Result<float> Model::ForwardBackward(const Batch& batch) {
  TERN_ASSIGN_OR_RETURN(auto xy, impl_->Wrap(batch));
  try {
    torch::Tensor loss = torch::cross_entropy_loss(impl_->Forward(xy.first), xy.second);
    // The gradients are defined, so autograd accumulates into them in place.
    loss.backward();
    return loss.item<float>();
  } catch (const std::exception& e) {
    return FromTorch(e);
  }
}

Result<BatchEval> Model::Evaluate(const Batch& batch) const {
  TERN_ASSIGN_OR_RETURN(auto xy, impl_->Wrap(batch));
  try {
    torch::NoGradGuard no_grad;
    torch::Tensor logits = impl_->Forward(xy.first);
    BatchEval out;
    out.count = xy.second.size(0);
    out.loss_sum = torch::cross_entropy_loss(logits, xy.second, {}, at::Reduction::Sum).item<double>();
    out.correct = logits.argmax(1).eq(xy.second).sum().item<int64_t>();
    return out;
  } catch (const std::exception& e) {
    return FromTorch(e);
  }
}

Status Model::Logits(const Batch& batch, std::span<float> out) const {
  TERN_ASSIGN_OR_RETURN(auto xy, impl_->Wrap(batch));
  const size_t want = batch.labels.size() * static_cast<size_t>(impl_->options.num_classes);
  if (out.size() != want) return InvalidArgumentError("logits buffer must hold batch * num_classes floats");
  try {
    torch::NoGradGuard no_grad;
    torch::Tensor logits = impl_->Forward(xy.first).contiguous();
    std::memcpy(out.data(), logits.data_ptr<float>(), want * sizeof(float));
    return OkStatus();
  } catch (const std::exception& e) {
    return FromTorch(e);
  }
}

Status Model::CheckStorage() const {
  for (size_t i = 0; i < impl_->tensors.size(); ++i) {
    const torch::Tensor& t = impl_->tensors[i];
    const NamedParameter& p = impl_->named[i];
    if (t.data_ptr<float>() != p.values.data()) {
      return InternalError(p.name + " no longer lives in the flat parameter buffer");
    }
    if (!t.grad().defined() || t.grad().data_ptr<float>() != p.grads.data()) {
      return InternalError(p.name + "'s gradient no longer lives in the flat gradient buffer");
    }
  }
  return OkStatus();
}

Status SetTorchThreads(int threads) {
  if (threads < 1 || threads > 256) return InvalidArgumentError("threads must be in [1, 256]");
  torch::set_num_threads(threads);
  return OkStatus();
}

int TorchThreads() { return torch::get_num_threads(); }

}  // namespace tern::train
