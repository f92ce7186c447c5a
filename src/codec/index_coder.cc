#include "codec/index_coder.h"

#include <algorithm>
#include <bit>

#include "codec/kernels.h"

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
  // Codes and lengths a tile at a time from the kernel (independent per
  // gap, so SIMD); here they are only joined, four per Put when they fit.
  constexpr size_t kTile = 256;
  uint64_t code[kTile], len[kTile];
  const Kernels& kernels = BestKernels();
  uint64_t prev = 0;
  for (size_t t = 0; t < count; t += kTile) {
    const size_t m = std::min(kTile, count - t);
    kernels.rice_codes(pos + t, m, prev, k, code, len);
    auto put_one = [&](size_t j) {
      if (len[j] <= kRiceMaxCodeBits) {
        w.Put(code[j], static_cast<int>(len[j]));
      } else {  // a long code: its unary part in pieces
        const uint64_t g = pos[t + j] - (t + j == 0 ? 0 : uint64_t{pos[t + j - 1]} + 1);
        w.PutUnary(g >> k);
        w.Put(g, k);
      }
    };
    size_t j = 0;
    for (; j + 4 <= m; j += 4) {
      const uint64_t l0 = len[j], l1 = len[j + 1], l2 = len[j + 2], l3 = len[j + 3];
      if (l0 + l1 + l2 + l3 <= kRiceMaxCodeBits) {  // every shift below is then < 56
        w.Put(code[j] | (code[j + 1] << l0) | (code[j + 2] << (l0 + l1)) |
                  (code[j + 3] << (l0 + l1 + l2)),
              static_cast<int>(l0 + l1 + l2 + l3));
      } else {
        for (size_t i = j; i < j + 4; ++i) put_one(i);
      }
    }
    for (; j < m; ++j) put_one(j);
    prev = uint64_t{pos[t + m - 1]} + 1;
  }
  *out = w;
}

}  // namespace tern::codec
