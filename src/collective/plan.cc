#include "collective/plan.h"

#include <algorithm>

namespace tern {

Segment SegmentOf(size_t numel, int size, int rank) {
  const size_t n = static_cast<size_t>(size), r = static_cast<size_t>(rank);
  const size_t base = numel / n, extra = numel % n;
  return {r * base + std::min(r, extra), base + (r < extra ? 1 : 0)};
}

namespace collective {

Plan MakePlan(const std::vector<size_t>& counts, size_t elem, size_t chunk_bytes) {
  Plan p;
  p.elem = elem;
  size_t begin = 0, largest = 0;
  for (size_t c : counts) {
    p.segments.push_back({begin, c});
    begin += c;
    largest = std::max(largest, c);
  }
  const size_t target = std::max(kMinChunkBytes, largest * elem / kPipelineChunks);
  const size_t per_chunk = std::max<size_t>(1, std::min(chunk_bytes, target) / elem);
  p.chunks = static_cast<int>(std::max<size_t>(1, (largest + per_chunk - 1) / per_chunk));
  return p;
}

Plan EvenPlan(size_t numel, int n, size_t elem, size_t chunk_bytes) {
  std::vector<size_t> counts;
  for (int r = 0; r < n; ++r) counts.push_back(SegmentOf(numel, n, r).count);
  return MakePlan(counts, elem, chunk_bytes);
}

}  // namespace collective
}  // namespace tern
