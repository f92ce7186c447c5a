#include "codec/kmeans.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "codec/codec_util.h"
#include "codec/kernels.h"

namespace tern::codec {

std::array<uint64_t, kMaxClusters> Histogram(const uint8_t* id, size_t n) {
  uint64_t t[4][kMaxClusters] = {};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    ++t[0][id[i]];
    ++t[1][id[i + 1]];
    ++t[2][id[i + 2]];
    ++t[3][id[i + 3]];
  }
  for (; i < n; ++i) ++t[0][id[i]];
  std::array<uint64_t, kMaxClusters> c{};
  for (int j = 0; j < kMaxClusters; ++j) c[j] = t[0][j] + t[1][j] + t[2][j] + t[3][j];
  return c;
}

// All values finite and nonzero, hence integer multiples of q, the unit in
// the last place of the smallest magnitude, and n * max|v| < 2^53 q, so
// every partial sum is an integer multiple of q below 2^53 q in magnitude:
// exact. Top-k values of a gradient (bounded away from 0) pass easily: 20%
// of 16M Gaussians need 2^24.1 < 2^30.
bool SumsAreOrderFree(std::span<const float> v) {
  uint32_t lo = 0xFFFFFFFFu, hi = 0;
  for (float x : v) {
    const uint32_t a = AbsBits(x);
    lo = std::min(lo, a);
    hi = std::max(hi, a);
  }
  if (v.empty() || lo == 0 || hi >= 0x7F800000u) return false;  // zero, inf or NaN
  const int e = static_cast<int>(lo >> 23);
  const double q = std::ldexp(1.0, (e == 0 ? 1 : e) - 150);  // subnormals: 2^-149
  const double bound = static_cast<double>(v.size()) * std::bit_cast<float>(hi);
  return bound * (1 + 0x1p-40) < 0x1p53 * q;
}

// When the sums are order-free, four interleaved tables break the chain of
// adds through one slot that neighbours with the same id would otherwise
// form (the top-k values FedZip clusters mostly share one cluster).
void ClusterSums(std::span<const float> v, const uint8_t* id, bool order_free, double* sum) {
  double t[4][kMaxClusters] = {};
  if (!order_free) {
    for (size_t i = 0; i < v.size(); ++i) t[0][id[i]] += v[i];
  } else {
    size_t i = 0;
    for (; i + 4 <= v.size(); i += 4) {
      t[0][id[i]] += v[i];
      t[1][id[i + 1]] += v[i + 1];
      t[2][id[i + 2]] += v[i + 2];
      t[3][id[i + 3]] += v[i + 3];
    }
    for (; i < v.size(); ++i) t[0][id[i]] += v[i];
  }
  // +0 terms leave a sum unchanged (a double sum starting at +0 is never -0).
  for (int j = 0; j < kMaxClusters; ++j) sum[j] = (t[0][j] + t[1][j]) + (t[2][j] + t[3][j]);
}

void KMeans1D(std::span<const float> v, int nc, int iters, float* centroids,
              std::vector<uint8_t>* ids) {
  float lo = v.empty() ? 0.0f : v[0], hi = lo;
  for (float x : v) lo = std::min(lo, x), hi = std::max(hi, x);
  for (int j = 0; j < nc; ++j) {
    centroids[j] = nc == 1 ? lo
                           : static_cast<float>(lo + (static_cast<double>(hi) - lo) * j / (nc - 1));
  }
  ids->resize(v.size());
  const uint8_t* id = ids->data();
  const Kernels& k = BestKernels();
  const bool order_free = SumsAreOrderFree(v);
  for (int it = 0;; ++it) {
    k.nearest_centroid(v.data(), v.size(), centroids, nc, ids->data());
    if (it == iters) break;  // the last pass only assigns
    double sum[kMaxClusters] = {};
    ClusterSums(v, id, order_free, sum);
    const std::array<uint64_t, kMaxClusters> cnt = Histogram(id, v.size());
    for (int j = 0; j < nc; ++j) {
      if (cnt[j]) centroids[j] = static_cast<float>(sum[j] / static_cast<double>(cnt[j]));
    }
  }
}

}  // namespace tern::codec
