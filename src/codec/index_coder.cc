#include "codec/index_coder.h"

#include <algorithm>
#include <bit>

namespace tern::codec {
namespace {

int BitLength(uint64_t v) { return v == 0 ? 0 : 64 - std::countl_zero(v); }

}  // namespace

uint64_t MaxPositionBits(const IndexCoding& coding, size_t count, size_t n) {
  uint64_t c = count;
  switch (coding.kind) {
    case IndexKind::kRaw:
      return 32 * c;
    case IndexKind::kRice:
      // count * (1 + k) + sum(g >> k), with k <= 30 and sum(g) <= n.
      return 5 + 31 * c + n;
    case IndexKind::kGamma:
      return c * (2 * static_cast<uint64_t>(BitLength(n)) + 1);
  }
  return 0;
}

int ChooseRiceK(const uint32_t* pos, size_t count) {
  if (count == 0) return 0;
  const uint64_t gaps = uint64_t{pos[count - 1]} + 1 - count;  // sum of all gaps
  const int k0 = std::max(BitLength(gaps / count) - 3, 0);     // candidates k0 .. k0 + 4
  // One pass: sum of (g >> k) for the five candidates. Every sum is at most
  // the sum of the gaps (< 2^32), so 32-bit lanes do, and the loop
  // vectorizes; shifts of 32 or more count as 0.
  uint32_t q[5] = {};
  int shift[5];
  for (int c = 0; c < 5; ++c) shift[c] = std::min(k0 + c, 31);
  const uint32_t keep[5] = {k0 + 0 < 32 ? ~0u : 0u, k0 + 1 < 32 ? ~0u : 0u,
                            k0 + 2 < 32 ? ~0u : 0u, k0 + 3 < 32 ? ~0u : 0u,
                            k0 + 4 < 32 ? ~0u : 0u};
  for (int c = 0; c < 5; ++c) q[c] += (pos[0] >> shift[c]) & keep[c];
  for (size_t j = 1; j < count; ++j) {
    const uint32_t g = pos[j] - pos[j - 1] - 1;
    for (int c = 0; c < 5; ++c) q[c] += (g >> shift[c]) & keep[c];
  }
  int best_k = k0;
  uint64_t best = UINT64_MAX;
  for (int c = 0; c < 5 && k0 + c <= 30; ++c) {
    const uint64_t cost = q[c] + static_cast<uint64_t>(count) * (1 + k0 + c);
    if (cost < best) best = cost, best_k = k0 + c;
  }
  return best_k;
}

}  // namespace tern::codec
