#include "membership/topology_solver.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>

namespace tern::membership {
namespace {

// A Hamiltonian cycle through node 0 using only links with rate >= t, or
// empty. dp[mask][v]: a path from 0 through `mask` ending at v exists.
std::vector<size_t> CycleAtLeast(const std::vector<std::vector<double>>& rate, double t) {
  const size_t n = rate.size();
  const size_t full = (size_t{1} << n) - 1;
  std::vector<std::vector<uint8_t>> dp(full + 1, std::vector<uint8_t>(n, 0));
  dp[1][0] = 1;
  for (size_t mask = 1; mask <= full; mask += 2) {
    for (size_t v = 0; v < n; ++v) {
      if (!dp[mask][v]) continue;
      for (size_t w = 1; w < n; ++w) {
        if ((mask >> w) & 1 || rate[v][w] < t) continue;
        dp[mask | (size_t{1} << w)][w] = 1;
      }
    }
  }
  size_t end = n;
  for (size_t v = 1; v < n && end == n; ++v) {
    if (dp[full][v] && rate[v][0] >= t) end = v;
  }
  if (end == n) return {};
  std::vector<size_t> order{end};
  size_t mask = full;
  for (size_t v = end; v != 0;) {
    const size_t prev_mask = mask & ~(size_t{1} << v);
    size_t u = 0;
    while (!(dp[prev_mask][u] && ((prev_mask >> u) & 1) && rate[u][v] >= t)) ++u;
    mask = prev_mask;
    v = u;
    order.push_back(v);
  }
  std::reverse(order.begin(), order.end());
  return order;  // starts with 0
}

RingSolution Exact(const std::vector<std::vector<double>>& rate) {
  std::vector<double> levels;
  for (size_t i = 0; i < rate.size(); ++i) {
    for (size_t j = 0; j < rate.size(); ++j) {
      if (i != j) levels.push_back(rate[i][j]);
    }
  }
  std::sort(levels.begin(), levels.end());
  levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
  // The lowest level always admits a cycle (the graph is complete).
  size_t lo = 0, hi = levels.size() - 1;
  std::vector<size_t> best = CycleAtLeast(rate, levels[0]);
  while (lo < hi) {
    const size_t mid = (lo + hi + 1) / 2;
    std::vector<size_t> c = CycleAtLeast(rate, levels[mid]);
    if (c.empty()) {
      hi = mid - 1;
    } else {
      lo = mid;
      best = std::move(c);
    }
  }
  return {best, RingBottleneck(rate, best), true};
}

RingSolution Heuristic(const std::vector<std::vector<double>>& rate) {
  const size_t n = rate.size();
  std::vector<size_t> order{0};
  std::vector<bool> used(n, false);
  used[0] = true;
  while (order.size() < n) {  // greedy: fastest next link
    size_t best = n;
    for (size_t w = 0; w < n; ++w) {
      if (!used[w] && (best == n || rate[order.back()][w] > rate[order.back()][best])) best = w;
    }
    used[best] = true;
    order.push_back(best);
  }
  // Never worse than the current order (the identity).
  std::vector<size_t> identity(n);
  std::iota(identity.begin(), identity.end(), size_t{0});
  if (RingBottleneck(rate, identity) > RingBottleneck(rate, order)) order = identity;
  for (bool improved = true; improved;) {  // reversals that raise the bottleneck
    improved = false;
    const double cur = RingBottleneck(rate, order);
    for (size_t i = 1; i + 1 < n && !improved; ++i) {
      for (size_t j = i + 1; j < n && !improved; ++j) {
        std::vector<size_t> cand = order;
        std::reverse(cand.begin() + static_cast<long>(i), cand.begin() + static_cast<long>(j) + 1);
        if (RingBottleneck(rate, cand) > cur) {
          order = std::move(cand);
          improved = true;
        }
      }
    }
  }
  return {order, RingBottleneck(rate, order), false};
}

}  // namespace

double RingBottleneck(const std::vector<std::vector<double>>& rate,
                      const std::vector<size_t>& order) {
  if (order.size() < 2) return std::numeric_limits<double>::infinity();
  double b = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < order.size(); ++i) {
    b = std::min(b, rate[order[i]][order[(i + 1) % order.size()]]);
  }
  return b;
}

RingSolution BestRing(const std::vector<std::vector<double>>& rate) {
  const size_t n = rate.size();
  if (n <= 2) {
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t{0});
    return {order, RingBottleneck(rate, order), true};
  }
  return n <= kExactLimit ? Exact(rate) : Heuristic(rate);
}

}  // namespace tern::membership
