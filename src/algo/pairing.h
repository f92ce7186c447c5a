// NoLoCo's random groups: every peer computes the same partition of the
// members from the shared seed, with no communication (DESIGN.md semantic 6).
//
// The members' stable peer ids are sorted ascending and shuffled by
// Fisher-Yates with RngStream(seed, kNoLoCoPairing, round, 0).UniformInt;
// consecutive runs of `group_size` form the groups, and a short last run
// joins the group before it (so nobody is left alone when there are at
// least two members). group_size 0 makes one group of everyone. Each
// group's members are returned sorted by peer id, the order in which every
// member sums the group's values.
//
// Thread-safe (pure function).
#ifndef TERN_ALGO_PAIRING_H_
#define TERN_ALGO_PAIRING_H_

#include <cstdint>
#include <vector>

namespace tern::algo {

std::vector<std::vector<uint64_t>> RandomGroups(uint64_t seed, uint64_t round,
                                                std::vector<uint64_t> peer_ids, int group_size);

// The group holding `peer_id` (empty if none does).
std::vector<uint64_t> GroupOf(const std::vector<std::vector<uint64_t>>& groups, uint64_t peer_id);

}  // namespace tern::algo

#endif  // TERN_ALGO_PAIRING_H_
