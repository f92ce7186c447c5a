// The ring order that maximizes the slowest link (a bottleneck travelling
// salesman problem on a directed graph: data flows from ring[i] to
// ring[i+1]). Exact for up to kExactLimit nodes (binary search over the
// distinct rates, Hamiltonian-cycle check by dynamic programming over
// subsets); beyond, a greedy tour (or the current order, if better)
// improved by segment reversals.
//
// Thread-safe: pure functions.
#ifndef TERN_MEMBERSHIP_TOPOLOGY_SOLVER_H_
#define TERN_MEMBERSHIP_TOPOLOGY_SOLVER_H_

#include <cstddef>
#include <vector>

namespace tern::membership {

inline constexpr size_t kExactLimit = 12;

struct RingSolution {
  std::vector<size_t> order;  // node indices, starting with node 0
  double bottleneck = 0;      // min rate over the ring's links
  bool exact = false;
};

// rate[i][j]: measured rate from node i to node j (i != j), >= 0. n >= 1.
RingSolution BestRing(const std::vector<std::vector<double>>& rate);

// The slowest link of `order` taken as a ring.
double RingBottleneck(const std::vector<std::vector<double>>& rate,
                      const std::vector<size_t>& order);

}  // namespace tern::membership

#endif  // TERN_MEMBERSHIP_TOPOLOGY_SOLVER_H_
