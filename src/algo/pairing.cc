#include "algo/pairing.h"

#include <algorithm>

#include "util/philox.h"

namespace tern::algo {

std::vector<std::vector<uint64_t>> RandomGroups(uint64_t seed, uint64_t round,
                                                std::vector<uint64_t> ids, int group_size) {
  std::sort(ids.begin(), ids.end());
  if (ids.empty()) return {};
  if (group_size <= 0 || static_cast<size_t>(group_size) >= ids.size()) return {ids};
  RngStream rng(seed, RngPurpose::kNoLoCoPairing, round, 0);
  for (size_t i = ids.size() - 1; i > 0; --i) {
    std::swap(ids[i], ids[rng.UniformInt(i + 1)]);
  }
  std::vector<std::vector<uint64_t>> groups;
  const size_t g = static_cast<size_t>(group_size);
  for (size_t i = 0; i < ids.size(); i += g) {
    const size_t end = std::min(ids.size(), i + g);
    if (end - i < g && !groups.empty()) {
      groups.back().insert(groups.back().end(), ids.begin() + i, ids.begin() + end);
    } else {
      groups.emplace_back(ids.begin() + i, ids.begin() + end);
    }
  }
  for (auto& group : groups) std::sort(group.begin(), group.end());
  return groups;
}

std::vector<uint64_t> GroupOf(const std::vector<std::vector<uint64_t>>& groups, uint64_t peer_id) {
  for (const auto& group : groups) {
    if (std::find(group.begin(), group.end(), peer_id) != group.end()) return group;
  }
  return {};
}

}  // namespace tern::algo
