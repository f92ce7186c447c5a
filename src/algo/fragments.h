// Layers and fragments of a flat parameter buffer (Streaming DiLoCo).
//
// A *layer* is a run of consecutive ParamSlices with the same layer key: the
// name up to and including its first all-digit component ("layers.3.attn.q"
// -> "layers.3", so a transformer block is one layer), or else the name
// without its last component ("fc1.weight" -> "fc1"). A *fragment* is a set
// of layers synced together: strided (layers p, p+F, p+2F, ...) or
// sequential (contiguous runs, layer l in fragment l*F/L). Fragments are
// kept as element ranges of the flat buffer, and Pack/Unpack move a
// fragment between the flat buffer and a contiguous buffer of its size.
//
// Thread-compatible.
#ifndef TERN_ALGO_FRAGMENTS_H_
#define TERN_ALGO_FRAGMENTS_H_

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tern/algo_options.h"
#include "tern/status.h"
#include "tern/strategy.h"

namespace tern::algo {

struct Range {
  size_t offset = 0;
  size_t numel = 0;
};

struct Fragment {
  std::vector<Range> ranges;  // ascending, disjoint
  size_t numel = 0;           // sum of the ranges
};

std::string LayerKey(std::string_view param_name);

// The layout with an empty layout replaced by one slice "params" of n
// elements. kInvalidArgument if slices are empty, leave gaps, overlap, or do
// not cover exactly n elements.
Result<std::vector<ParamSlice>> NormalizeLayout(const std::vector<ParamSlice>& layout, size_t n);

// Element ranges of each layer, in order (layout must be normalized).
std::vector<Range> Layers(const std::vector<ParamSlice>& layout);

// Splits `layers` into `fragments` fragments. kInvalidArgument if
// fragments < 1 or there are fewer layers than fragments.
Result<std::vector<Fragment>> MakeFragments(const std::vector<Range>& layers, int fragments,
                                            FragmentLayout layout);

// The automatic fragment count: layers / 3, but at least 2 for a model of
// two layers or more (at least 1), lowered until it divides h and
// tau < h / F. kInvalidArgument if even F = 1 fails (tau >= h).
Result<int> AutoFragments(size_t layers, int h, int tau);

// flat[ranges] -> packed (packed.size() == f.numel).
void Pack(const Fragment& f, std::span<const float> flat, std::span<float> packed);
// packed -> flat[ranges].
void Unpack(const Fragment& f, std::span<const float> packed, std::span<float> flat);

}  // namespace tern::algo

#endif  // TERN_ALGO_FRAGMENTS_H_
