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

void EncodeRicePositions(const IndexCoding& coding, const uint32_t* pos, size_t count,
                         BitWriter* out) {
  BitWriter w = *out;  // a local copy keeps the writer's state in registers
  const int k = coding.rice_k >= 0 ? coding.rice_k : ChooseRiceK(pos, count);
  w.Put(static_cast<uint64_t>(k), 5);
  const uint64_t low_mask = (uint64_t{1} << k) - 1;
  // Code of gap g: q = g >> k ones, a zero, the k low bits; q + 1 + k bits.
  auto code = [&](uint64_t g) { return ((uint64_t{1} << (g >> k)) - 1) | ((g & low_mask) << ((g >> k) + 1)); };
  auto put_one = [&](uint64_t g) {
    const uint64_t q = g >> k;
    if (q + 1 + static_cast<uint64_t>(k) <= 56) {
      w.Put(code(g), static_cast<int>(q) + 1 + k);
    } else {
      w.PutUnary(q);
      w.Put(g, k);
    }
  };
  uint64_t prev = 0;
  size_t j = 0;
  for (; j + 4 <= count; j += 4) {
    const uint64_t g0 = pos[j] - prev, g1 = uint64_t{pos[j + 1]} - pos[j] - 1,
                   g2 = uint64_t{pos[j + 2]} - pos[j + 1] - 1,
                   g3 = uint64_t{pos[j + 3]} - pos[j + 2] - 1;
    const uint64_t l0 = (g0 >> k) + 1 + k, l1 = (g1 >> k) + 1 + k, l2 = (g2 >> k) + 1 + k,
                   l3 = (g3 >> k) + 1 + k;
    if (l0 + l1 + l2 + l3 <= 56) {  // every shift below is then < 56
      w.Put(code(g0) | (code(g1) << l0) | (code(g2) << (l0 + l1)) |
                (code(g3) << (l0 + l1 + l2)),
            static_cast<int>(l0 + l1 + l2 + l3));
    } else {
      put_one(g0);
      put_one(g1);
      put_one(g2);
      put_one(g3);
    }
    prev = uint64_t{pos[j + 3]} + 1;
  }
  for (; j < count; ++j) {
    put_one(pos[j] - prev);
    prev = uint64_t{pos[j]} + 1;
  }
  *out = w;
}

}  // namespace tern::codec
