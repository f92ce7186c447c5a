#include "algo/fragments.h"

#include <algorithm>
#include <cstring>

#include "util/check.h"

namespace tern::algo {

std::string LayerKey(std::string_view name) {
  size_t begin = 0;
  while (begin <= name.size()) {
    size_t end = name.find('.', begin);
    if (end == std::string_view::npos) end = name.size();
    std::string_view part = name.substr(begin, end - begin);
    if (!part.empty() && std::all_of(part.begin(), part.end(),
                                     [](char c) { return c >= '0' && c <= '9'; })) {
      return std::string(name.substr(0, end));
    }
    begin = end + 1;
  }
  size_t dot = name.rfind('.');
  return std::string(dot == std::string_view::npos ? name : name.substr(0, dot));
}

Result<std::vector<ParamSlice>> NormalizeLayout(const std::vector<ParamSlice>& layout, size_t n) {
  if (layout.empty()) {
    return std::vector<ParamSlice>{{.name = "params", .offset = 0, .numel = n, .shape = {}}};
  }
  size_t next = 0;
  for (const ParamSlice& s : layout) {
    if (s.numel == 0) return InvalidArgumentError("layout: empty parameter '" + s.name + "'");
    if (s.offset != next) {
      return InvalidArgumentError("layout: parameter '" + s.name +
                                  "' does not start where the previous one ends");
    }
    next += s.numel;
  }
  if (next != n) return InvalidArgumentError("layout does not cover the parameter buffer");
  return layout;
}

std::vector<Range> Layers(const std::vector<ParamSlice>& layout) {
  std::vector<Range> layers;
  std::string key;
  for (const ParamSlice& s : layout) {
    std::string k = LayerKey(s.name);
    if (!layers.empty() && k == key) {
      layers.back().numel += s.numel;
    } else {
      layers.push_back({s.offset, s.numel});
      key = std::move(k);
    }
  }
  return layers;
}

Result<std::vector<Fragment>> MakeFragments(const std::vector<Range>& layers, int fragments,
                                            FragmentLayout layout) {
  if (fragments < 1) return InvalidArgumentError("fragments must be >= 1");
  const size_t f = static_cast<size_t>(fragments), l = layers.size();
  if (l < f) {
    return InvalidArgumentError("the model has " + std::to_string(l) + " layers, fewer than " +
                                std::to_string(f) + " fragments");
  }
  std::vector<Fragment> out(f);
  for (size_t i = 0; i < l; ++i) {
    const size_t p = layout == FragmentLayout::kStrided ? i % f : i * f / l;
    out[p].ranges.push_back(layers[i]);
    out[p].numel += layers[i].numel;
  }
  return out;
}

Result<int> AutoFragments(size_t layers, int h, int tau) {
  // Three layers per fragment (the paper's Fig. 6), but at least two
  // fragments when the model has two layers or more: a small model with one
  // fragment would be DiLoCo with a delay, not streaming.
  const size_t target = std::max(layers / 3, std::min<size_t>(2, layers));
  int f = static_cast<int>(std::max<size_t>(1, target));
  for (; f >= 1; --f) {
    if (h % f == 0 && tau < h / f) return f;
  }
  return InvalidArgumentError("no fragment count satisfies tau < h / fragments");
}

void Pack(const Fragment& f, std::span<const float> flat, std::span<float> packed) {
  TERN_CHECK_EQ(packed.size(), f.numel);
  size_t at = 0;
  for (const Range& r : f.ranges) {
    std::memcpy(packed.data() + at, flat.data() + r.offset, r.numel * sizeof(float));
    at += r.numel;
  }
}

void Unpack(const Fragment& f, std::span<const float> packed, std::span<float> flat) {
  TERN_CHECK_EQ(packed.size(), f.numel);
  size_t at = 0;
  for (const Range& r : f.ranges) {
    std::memcpy(flat.data() + r.offset, packed.data() + at, r.numel * sizeof(float));
    at += r.numel;
  }
}

}  // namespace tern::algo
