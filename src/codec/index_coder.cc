#include "codec/index_coder.h"

#include <bit>

namespace tern::codec {
namespace {

int BitLength(uint64_t v) { return v == 0 ? 0 : 64 - std::countl_zero(v); }

uint64_t RiceCost(const uint32_t* pos, size_t count, int k) {
  uint64_t bits = static_cast<uint64_t>(count) * (1 + k);
  uint64_t prev = 0;
  for (size_t j = 0; j < count; ++j) {
    bits += (pos[j] - prev) >> k;
    prev = uint64_t{pos[j]} + 1;
  }
  return bits;
}

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
  uint64_t gaps = uint64_t{pos[count - 1]} + 1 - count;  // sum of all gaps
  int k0 = BitLength(gaps / count) - 1;
  int best_k = 0;
  uint64_t best = UINT64_MAX;
  for (int k = k0 - 2; k <= k0 + 2; ++k) {
    if (k < 0 || k > 30) continue;
    uint64_t cost = RiceCost(pos, count, k);
    if (cost < best) best = cost, best_k = k;
  }
  return best_k;
}

}  // namespace tern::codec
