// One-dimensional k-means for FedZip (docs/codec_spec.md, "fedzip"):
// centroids at linspace(min, max), then Lloyd iterations (assign each value
// to the nearest centroid, ties to the lower index; move each centroid to
// the double mean of its values, summed in index order; an empty cluster
// keeps its centroid), then one last assignment. Thread-compatible.
#ifndef TERN_CODEC_KMEANS_H_
#define TERN_CODEC_KMEANS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace tern::codec {

inline constexpr int kMaxClusters = 16;

// Fills centroids[0..nc) and ids (resized to v.size()). REQUIRES: 1 <= nc
// <= kMaxClusters, iters >= 0.
void KMeans1D(std::span<const float> v, int nc, int iters, float* centroids,
              std::vector<uint8_t>* ids);

// The pieces, for tests. How many ids equal each value (ids < kMaxClusters).
std::array<uint64_t, kMaxClusters> Histogram(const uint8_t* id, size_t n);
// True if every double sum of a subset of v is exact (so no order of
// additions changes it).
bool SumsAreOrderFree(std::span<const float> v);
// sum[j] for j < kMaxClusters: the index-order double sum of the values with
// id j (added in another order only when order_free, which must come from
// SumsAreOrderFree(v)).
void ClusterSums(std::span<const float> v, const uint8_t* id, bool order_free, double* sum);

}  // namespace tern::codec

#endif  // TERN_CODEC_KMEANS_H_
