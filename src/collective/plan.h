// How a buffer is cut for a collective: segments (one per rank, in
// elements) and, inside each segment, the same number of chunks (the
// pipeline unit, one frame each). Every rank derives the same plan from the
// same arguments, so frames are identified by (segment, chunk) alone.
//
// Thread-compatible value type.
#ifndef TERN_COLLECTIVE_PLAN_H_
#define TERN_COLLECTIVE_PLAN_H_

#include <cstddef>
#include <vector>

#include "tern/communicator.h"

namespace tern::collective {

struct Plan {
  std::vector<Segment> segments;  // elements; segments[r] belongs to rank r
  size_t elem = 1;                // bytes per element
  int chunks = 1;                 // per segment

  // Chunk c of segment s, in elements from the buffer's start.
  Segment Chunk(int s, int c) const {
    const Segment seg = segments[static_cast<size_t>(s)];
    const Segment part = SegmentOf(seg.count, chunks, c);
    return {seg.begin + part.begin, part.count};
  }
  size_t total_elements() const {
    return segments.empty() ? 0 : segments.back().begin + segments.back().count;
  }
};

// Segments of sizes `counts` (laid out back to back), chunked so that no
// chunk exceeds chunk_bytes, and mid-sized segments still get about
// kPipelineChunks chunks (of at least kMinChunkBytes) so the pipeline has
// something to overlap. 4, not more: every frame costs syscalls and
// wake-ups, and on loopback (CPU-bound) 8 chunks of a 1 MiB all-reduce on
// 4 ranks took ~10% more time and CPU than 4 (bench/compare_allreduce.sh).
inline constexpr size_t kMinChunkBytes = 32 << 10;
inline constexpr size_t kPipelineChunks = 4;
Plan MakePlan(const std::vector<size_t>& counts, size_t elem, size_t chunk_bytes);
// numel elements split evenly over n ranks (SegmentOf).
Plan EvenPlan(size_t numel, int n, size_t elem, size_t chunk_bytes);

// The stream a chunk travels on.
inline int StreamOf(int chunk, int streams) { return chunk % streams; }

// Frames per stream when `chunks` chunks are spread over `streams`.
inline int FramesOnStream(int chunks, int streams, int stream) {
  return chunks / streams + (stream < chunks % streams ? 1 : 0);
}

}  // namespace tern::collective

#endif  // TERN_COLLECTIVE_PLAN_H_
