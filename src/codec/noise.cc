#include "codec/noise.h"

#include <algorithm>
#include <cstring>

namespace tern::codec {

NoiseWords::NoiseWords(uint64_t seed, RngPurpose purpose, uint64_t a, uint64_t b) {
  // As RngStream's constructor (util/philox.cc).
  uint64_t k = Mix64(seed);
  k = Mix64(k ^ static_cast<uint64_t>(purpose));
  k = Mix64(k ^ ((a >> 32) | ((b >> 32) << 32)));
  key_.key = {static_cast<uint32_t>(k), static_cast<uint32_t>(k >> 32)};
  key_.a_lo = static_cast<uint32_t>(a);
  key_.b_lo = static_cast<uint32_t>(b);
}

void NoiseWords::FillWith(const Kernels& k, uint64_t first, size_t n, uint32_t* out) const {
  if (n == 0) return;
  uint32_t edge[4];
  size_t j = 0;
  if (first % 4 != 0) {  // the rest of a partly used block
    k.philox(key_, first / 4, 1, edge);
    const size_t skip = first % 4, take = std::min<size_t>(4 - skip, n);
    std::memcpy(out, edge + skip, 4 * take);
    j = take;
  }
  const size_t whole = (n - j) / 4;
  k.philox(key_, (first + j) / 4, whole, out + j);
  j += 4 * whole;
  if (j < n) {
    k.philox(key_, (first + j) / 4, 1, edge);
    std::memcpy(out + j, edge, 4 * (n - j));
  }
}

}  // namespace tern::codec
