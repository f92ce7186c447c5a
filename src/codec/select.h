// Choosing which values a sparse codec keeps, by magnitude (|x| compared as
// AbsBits, so NaN counts as largest and the order is total).
//   SelectTopK      exactly k values: the k largest, ties to the lower index
//                   (radix select on the magnitude bits, then one collect pass)
//   SelectSampled   about k values, DGC-style: a threshold from a random 1%
//                   sample, adjusted (x1.3 / x0.7) until the count is within
//                   [0.7k, cap]; falls back to SelectTopK if it never is
// Both return positions in ascending order with their values.
#ifndef TERN_CODEC_SELECT_H_
#define TERN_CODEC_SELECT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "tern/codec.h"

namespace tern::codec {

// An allocator whose resize leaves new elements uninitialised: selection
// buffers are sized to a bound and then filled by a kernel, so zeroing them
// first would be a wasted pass.
template <typename T>
struct UninitAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = UninitAllocator<U>;
  };
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

struct Selection {
  std::vector<uint32_t, UninitAllocator<uint32_t>> pos;
  std::vector<float, UninitAllocator<float>> val;
};

// REQUIRES: k <= x.size() < 2^32.
void SelectTopK(std::span<const float> x, size_t k, Selection* out);

// The rank-th largest of v (rank 1 = the largest), as nth_element finds it.
// Reorders v. REQUIRES: 1 <= rank <= v.size(); every value <= 0x7FFFFFFF
// (magnitude bits, AbsBits).
uint32_t KthLargest(std::span<uint32_t> v, size_t rank);

// The most values SelectSampled returns for k.
size_t SampledCap(size_t k);
// REQUIRES: k <= x.size() < 2^32. Deterministic given ctx (the sample comes
// from the shared-choice stream, never the peer's).
void SelectSampled(std::span<const float> x, size_t k, const CodecContext& ctx, Selection* out);

}  // namespace tern::codec

#endif  // TERN_CODEC_SELECT_H_
