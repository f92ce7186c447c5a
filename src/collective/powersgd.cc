// PowerSGD low-rank all-reduce (Vogels et al. 2019; the PyTorch hook of
// reference/codecs.md section 5). Words: M is the tensor viewed as n x m
// (plus the error-feedback residual), Q (m x r) the right factor (kept for
// warm start), P = M Q (n x r). After all-reduce(P, sum) and Gram-Schmidt,
// Q' = all-reduce(M^T P) / size and the result is P Q'^T. Every product
// runs in a fixed loop order in fp32 without FMA contraction, so all ranks
// compute the same bits from the same all-reduced factors.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <vector>

#include "tern/communicator.h"
#include "util/philox.h"

namespace tern {
namespace {

// Orthonormalises the r columns of a row-major n x r matrix in place
// (classical Gram-Schmidt, as torch's hook for small r). A column that is
// (numerically) a combination of the earlier ones becomes zero instead of
// normalised rounding noise, which would not be orthogonal to them; torch
// divides by the tiny norm (eps 0) and gets a wrong projection there.
void Orthogonalize(std::vector<float>& a, size_t n, size_t r) {
  constexpr float kDependent = 1e-4f;
  for (size_t c = 0; c < r; ++c) {
    float before2 = 0.f;
    for (size_t i = 0; i < n; ++i) before2 += a[i * r + c] * a[i * r + c];
    for (size_t p = 0; p < c; ++p) {
      float dot = 0.f;
      for (size_t i = 0; i < n; ++i) dot += a[i * r + c] * a[i * r + p];
      for (size_t i = 0; i < n; ++i) a[i * r + c] -= dot * a[i * r + p];
    }
    float norm2 = 0.f;
    for (size_t i = 0; i < n; ++i) norm2 += a[i * r + c] * a[i * r + c];
    const float norm = std::sqrt(norm2);
    const bool dependent = !(norm > kDependent * std::sqrt(before2));
    for (size_t i = 0; i < n; ++i) a[i * r + c] = dependent ? 0.f : a[i * r + c] / norm;
  }
}

// out (n x r) = m (n x k) * b (k x r), all row-major.
void MatMul(const float* m, const float* b, float* out, size_t n, size_t k, size_t r) {
  std::memset(out, 0, n * r * sizeof(float));
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < k; ++j) {
      const float v = m[i * k + j];
      for (size_t c = 0; c < r; ++c) out[i * r + c] += v * b[j * r + c];
    }
}

// out (k x r) = m^T (k x n) * p (n x r), m row-major n x k.
void MatTMul(const float* m, const float* p, float* out, size_t n, size_t k, size_t r) {
  std::memset(out, 0, k * r * sizeof(float));
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < k; ++j) {
      const float v = m[i * k + j];
      for (size_t c = 0; c < r; ++c) out[j * r + c] += v * p[i * r + c];
    }
}

}  // namespace

struct PowerSgd::State {
  struct Tensor {
    size_t n = 0, m = 0;
    std::vector<float> q;      // m x r; empty until the first success
    std::vector<float> error;  // n x m; empty = zeros
    uint64_t draws = 0;        // random Q initialisations so far
  };
  std::map<uint64_t, Tensor> tensors;
};

PowerSgd::PowerSgd(PowerSgdOptions options)
    : options_(options), state_(std::make_unique<State>()) {}
PowerSgd::~PowerSgd() = default;

void PowerSgd::Reset(uint64_t tensor_id) { state_->tensors.erase(tensor_id); }
void PowerSgd::ResetAll() { state_->tensors.clear(); }

Status PowerSgd::AllReduce(Communicator& comm, uint64_t tensor_id, TensorView tensor,
                           const AllReduceOptions& options) {
  if (tensor.dtype != DType::kF32) return InvalidArgumentError("PowerSGD: fp32 tensors only");
  if (options.codec != nullptr || options.feedback != nullptr) {
    return InvalidArgumentError("PowerSGD: is itself the compressor; no codec option");
  }
  if (options_.rank < 1) return InvalidArgumentError("PowerSGD: rank must be >= 1");
  AllReduceOptions plain = options;
  plain.op = ReduceOp::kAvg;
  const size_t numel = tensor.numel();
  const size_t n = tensor.shape.rank() >= 2 ? static_cast<size_t>(tensor.shape.dim(0)) : 0;
  const size_t m = n > 0 ? numel / n : 0;
  const size_t r = std::min({n, m, static_cast<size_t>(options_.rank)});
  if (n == 0 || m == 0 ||
      static_cast<double>((n + m) * r) * options_.min_compression_rate >= static_cast<double>(n * m)) {
    return comm.AllReduce(tensor, plain);  // not worth compressing (1-D, small, or nearly square-rank)
  }
  State::Tensor& st = state_->tensors[tensor_id];
  if (st.n == 0) {
    st.n = n;
    st.m = m;
  } else if (st.n != n || st.m != m) {
    return InvalidArgumentError("PowerSGD: tensor " + std::to_string(tensor_id) + " changed shape");
  }
  // M = tensor + error (the residual of earlier steps).
  std::vector<float> mat(tensor.f32().begin(), tensor.f32().end());
  if (options_.error_feedback && !st.error.empty()) {
    for (size_t i = 0; i < numel; ++i) mat[i] += st.error[i];
  }
  std::vector<float> q = st.q;
  const bool drew = !options_.warm_start || q.size() != m * r;
  if (drew) {
    RngStream rng(options_.seed, RngPurpose::kPowerSgdInit, tensor_id, st.draws);
    q.resize(m * r);
    for (float& v : q) v = rng.Normal();
    Orthogonalize(q, m, r);
  }
  std::vector<float> p(n * r);
  MatMul(mat.data(), q.data(), p.data(), n, m, r);
  // Both all-reduces count toward the caller's stats.
  OpStats p_stats, q_stats;
  plain.stats = &q_stats;
  AllReduceOptions sum = options;
  sum.op = ReduceOp::kSum;
  sum.stats = &p_stats;
  TERN_RETURN_IF_ERROR(comm.AllReduce(TensorView(p.data(), DType::kF32, Shape({static_cast<int64_t>(n),
                                                                               static_cast<int64_t>(r)})),
                                      sum));
  Orthogonalize(p, n, r);
  MatTMul(mat.data(), p.data(), q.data(), n, m, r);
  TERN_RETURN_IF_ERROR(comm.AllReduce(
      TensorView(q.data(), DType::kF32, Shape({static_cast<int64_t>(m), static_cast<int64_t>(r)})), plain));
  if (options.stats != nullptr) {
    *options.stats = q_stats;
    options.stats->bytes_sent += p_stats.bytes_sent;
    options.stats->bytes_received += p_stats.bytes_received;
    options.stats->seconds += p_stats.seconds;
  }
  // Success: commit. result = P Q^T; error = M - result.
  float* out = tensor.f32().data();
  if (options_.error_feedback) st.error.resize(numel);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < m; ++j) {
      float v = 0.f;
      for (size_t c = 0; c < r; ++c) v += p[i * r + c] * q[j * r + c];
      out[i * m + j] = v;
      if (options_.error_feedback) st.error[i * m + j] = mat[i * m + j] - v;
    }
  }
  if (options_.warm_start) st.q = std::move(q);
  if (drew) ++st.draws;
  return OkStatus();
}

}  // namespace tern
