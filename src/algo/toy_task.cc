#include "algo/toy_task.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "util/check.h"
#include "util/philox.h"

namespace tern::algo::toy {
namespace {

// Streams of kDataShuffle used for generating data (batches use the worker's
// stream number, far below this).
constexpr uint64_t kGenerateStream = uint64_t{1} << 40;

Dataset Generate(const GaussianMixtureOptions& o, const std::vector<float>& centres, size_t n,
                 uint64_t split) {
  Dataset d;
  d.dim = o.dim;
  d.x.resize(n * o.dim);
  d.y.resize(n);
  RngStream rng(o.seed, RngPurpose::kDataShuffle, kGenerateStream + split, 0);
  const uint64_t k = static_cast<uint64_t>(o.classes) * o.clusters;
  for (size_t s = 0; s < n; ++s) {
    const uint64_t c = rng.UniformInt(k);
    d.y[s] = static_cast<int>(c / o.clusters);
    const float* centre = centres.data() + c * o.dim;
    float* x = d.x.data() + s * o.dim;
    for (int j = 0; j < o.dim; ++j) x[j] = centre[j] + o.noise * rng.Normal();
  }
  return d;
}

}  // namespace

GaussianMixture MakeGaussianMixture(const GaussianMixtureOptions& o) {
  const size_t k = static_cast<size_t>(o.classes) * o.clusters;
  std::vector<float> centres(k * o.dim);
  RngStream rng(o.seed, RngPurpose::kModelInit, 0, 0);
  for (float& c : centres) c = o.centre_scale * rng.Normal();
  return {Generate(o, centres, o.train, 0), Generate(o, centres, o.eval, 1)};
}

void SampleBatch(const Dataset& d, size_t shard_begin, size_t shard_end, uint64_t seed,
                 uint64_t stream, uint64_t index, int batch, std::vector<float>* x,
                 std::vector<int>* y) {
  TERN_CHECK_LT(shard_begin, shard_end);
  x->resize(static_cast<size_t>(batch) * d.dim);
  y->resize(batch);
  RngStream rng(seed, RngPurpose::kDataShuffle, stream, index);
  for (int b = 0; b < batch; ++b) {
    const size_t s = shard_begin + rng.UniformInt(shard_end - shard_begin);
    std::copy_n(d.x.data() + s * d.dim, d.dim, x->data() + static_cast<size_t>(b) * d.dim);
    (*y)[b] = d.y[s];
  }
}

Mlp::Mlp(std::vector<int> widths) : widths_(std::move(widths)) {
  TERN_CHECK_GE(widths_.size(), 2u);
  for (size_t l = 0; l + 1 < widths_.size(); ++l) {
    offsets_.push_back(num_params_);
    num_params_ += static_cast<size_t>(widths_[l]) * widths_[l + 1] + widths_[l + 1];
  }
}

std::vector<ParamSlice> Mlp::Layout() const {
  std::vector<ParamSlice> out;
  for (size_t l = 0; l + 1 < widths_.size(); ++l) {
    const std::string name = "fc" + std::to_string(l + 1);
    const int64_t in = widths_[l], o = widths_[l + 1];
    out.push_back({name + ".weight", offsets_[l], static_cast<size_t>(in * o), {in, o}});
    out.push_back({name + ".bias", offsets_[l] + static_cast<size_t>(in * o),
                   static_cast<size_t>(o), {o}});
  }
  return out;
}

void Mlp::Init(std::span<float> params, uint64_t seed) const {
  TERN_CHECK_EQ(params.size(), num_params_);
  RngStream rng(seed, RngPurpose::kModelInit, 1, 0);
  for (size_t l = 0; l + 1 < widths_.size(); ++l) {
    const size_t in = widths_[l], o = widths_[l + 1];
    const float bound = std::sqrt(6.0f / static_cast<float>(in));
    float* w = params.data() + offsets_[l];
    for (size_t i = 0; i < in * o; ++i) w[i] = bound * (2.0f * rng.UniformFloat() - 1.0f);
    std::fill_n(w + in * o, o, 0.0f);
  }
}

// acts[0] = x; acts[l+1] = relu(acts[l] W_l + b_l), logits without relu.
// Weights are [in, out] so each output row is a sum of axpys, which the
// compiler vectorizes without reassociating (no fast-math here).
void Mlp::Forward(std::span<const float> params, std::span<const float> x, int batch,
                  std::vector<std::vector<float>>* acts) const {
  const size_t layers = widths_.size() - 1;
  acts->resize(layers + 1);
  (*acts)[0].assign(x.begin(), x.end());
  for (size_t l = 0; l < layers; ++l) {
    const size_t in = widths_[l], o = widths_[l + 1];
    const float* w = params.data() + offsets_[l];
    const float* bias = w + in * o;
    const std::vector<float>& a = (*acts)[l];
    std::vector<float>& z = (*acts)[l + 1];
    z.assign(static_cast<size_t>(batch) * o, 0.0f);
    for (int b = 0; b < batch; ++b) {
      float* zb = z.data() + b * o;
      std::copy_n(bias, o, zb);
      for (size_t i = 0; i < in; ++i) {
        const float ai = a[b * in + i];
        if (ai == 0.0f) continue;
        const float* wi = w + i * o;
        for (size_t j = 0; j < o; ++j) zb[j] += ai * wi[j];
      }
      if (l + 1 < layers) {
        for (size_t j = 0; j < o; ++j) zb[j] = std::max(zb[j], 0.0f);
      }
    }
  }
}

float Mlp::CrossEntropy(const std::vector<float>& logits, std::span<const int> y, int batch,
                        std::vector<float>* dlogits, int* correct) const {
  const size_t c = widths_.back();
  double total = 0;
  if (dlogits) dlogits->assign(logits.size(), 0.0f);
  for (int b = 0; b < batch; ++b) {
    const float* z = logits.data() + b * c;
    const float mx = *std::max_element(z, z + c);
    float sum = 0;
    for (size_t j = 0; j < c; ++j) sum += std::exp(z[j] - mx);
    const float lse = mx + std::log(sum);
    total += lse - z[y[b]];
    if (correct && std::max_element(z, z + c) - z == y[b]) ++*correct;
    if (dlogits) {
      float* d = dlogits->data() + b * c;
      for (size_t j = 0; j < c; ++j) d[j] = std::exp(z[j] - lse) / static_cast<float>(batch);
      d[y[b]] -= 1.0f / static_cast<float>(batch);
    }
  }
  return static_cast<float>(total / batch);
}

float Mlp::LossAndGradient(std::span<const float> params, std::span<const float> x,
                           std::span<const int> y, std::span<float> grads) const {
  const int batch = static_cast<int>(y.size());
  std::vector<std::vector<float>> acts;
  Forward(params, x, batch, &acts);
  std::vector<float> delta;
  const float loss = CrossEntropy(acts.back(), y, batch, &delta, nullptr);
  std::fill(grads.begin(), grads.end(), 0.0f);
  std::vector<float> wt, prev;
  for (size_t l = widths_.size() - 1; l-- > 0;) {
    const size_t in = widths_[l], o = widths_[l + 1];
    const float* w = params.data() + offsets_[l];
    float* gw = grads.data() + offsets_[l];
    float* gb = gw + in * o;
    const std::vector<float>& a = acts[l];
    for (int b = 0; b < batch; ++b) {
      const float* db = delta.data() + b * o;
      for (size_t j = 0; j < o; ++j) gb[j] += db[j];
      for (size_t i = 0; i < in; ++i) {
        const float ai = a[b * in + i];
        if (ai == 0.0f) continue;
        float* gwi = gw + i * o;
        for (size_t j = 0; j < o; ++j) gwi[j] += ai * db[j];
      }
    }
    if (l == 0) break;
    // delta_prev[b, i] = sum_j W[i, j] delta[b, j], masked by relu'.
    wt.resize(in * o);
    for (size_t i = 0; i < in; ++i) {
      for (size_t j = 0; j < o; ++j) wt[j * in + i] = w[i * o + j];
    }
    prev.assign(static_cast<size_t>(batch) * in, 0.0f);
    for (int b = 0; b < batch; ++b) {
      float* pb = prev.data() + b * in;
      for (size_t j = 0; j < o; ++j) {
        const float dj = delta[b * o + j];
        const float* wtj = wt.data() + j * in;
        for (size_t i = 0; i < in; ++i) pb[i] += dj * wtj[i];
      }
      for (size_t i = 0; i < in; ++i) {
        if (a[b * in + i] <= 0.0f) pb[i] = 0.0f;
      }
    }
    delta.swap(prev);
  }
  return loss;
}

float Mlp::Loss(std::span<const float> params, std::span<const float> x,
                std::span<const int> y) const {
  const int batch = static_cast<int>(y.size());
  std::vector<std::vector<float>> acts;
  Forward(params, x, batch, &acts);
  return CrossEntropy(acts.back(), y, batch, nullptr, nullptr);
}

void Mlp::Evaluate(std::span<const float> params, const Dataset& d, double* loss,
                   double* accuracy) const {
  constexpr size_t kChunk = 512;
  double total = 0;
  int correct = 0;
  std::vector<std::vector<float>> acts;
  for (size_t s = 0; s < d.size(); s += kChunk) {
    const int n = static_cast<int>(std::min(kChunk, d.size() - s));
    Forward(params, std::span<const float>(d.x).subspan(s * d.dim, n * d.dim), n, &acts);
    total += static_cast<double>(CrossEntropy(acts.back(), std::span<const int>(d.y).subspan(s, n),
                                              n, nullptr, &correct)) * n;
  }
  *loss = total / static_cast<double>(d.size());
  *accuracy = static_cast<double>(correct) / static_cast<double>(d.size());
}

}  // namespace tern::algo::toy
