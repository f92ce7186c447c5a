#include "util/philox.h"

namespace tern {
namespace {

constexpr uint32_t kMul0 = 0xD2511F53u;
constexpr uint32_t kMul1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u;
constexpr uint32_t kWeyl1 = 0xBB67AE85u;

inline void MulHiLo(uint32_t a, uint32_t b, uint32_t* hi, uint32_t* lo) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(p >> 32);
  *lo = static_cast<uint32_t>(p);
}

}  // namespace

std::array<uint32_t, 4> Philox4x32(std::array<uint32_t, 4> c, std::array<uint32_t, 2> k) {
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    MulHiLo(kMul0, c[0], &hi0, &lo0);
    MulHiLo(kMul1, c[2], &hi1, &lo1);
    c = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
    k[0] += kWeyl0;
    k[1] += kWeyl1;
  }
  return c;
}

RngStream::RngStream(uint64_t seed, RngPurpose purpose, uint64_t a, uint64_t b) {
  // The low 32 bits of a and b go into the counter; everything else into the
  // key, through a bijective mixer chain.
  uint64_t k = Mix64(seed);
  k = Mix64(k ^ static_cast<uint64_t>(purpose));
  k = Mix64(k ^ ((a >> 32) | ((b >> 32) << 32)));
  key_ = {static_cast<uint32_t>(k), static_cast<uint32_t>(k >> 32)};
  a_lo_ = static_cast<uint32_t>(a);
  b_lo_ = static_cast<uint32_t>(b);
}

void RngStream::Refill() {
  buf_ = Philox4x32({static_cast<uint32_t>(block_), static_cast<uint32_t>(block_ >> 32), a_lo_, b_lo_},
                    key_);
  ++block_;
  pos_ = 0;
}

void RngStream::Seek(uint64_t word_index) {
  block_ = word_index / 4;
  Refill();
  pos_ = static_cast<int>(word_index % 4);
}

uint64_t RngStream::UniformInt(uint64_t n) {
  // Lemire, "Fast random integer generation in an interval" (2019).
  uint64_t x = NextU64();
  __uint128_t m = static_cast<__uint128_t>(x) * n;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < n) {
    uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      x = NextU64();
      m = static_cast<__uint128_t>(x) * n;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

float RngStream::Normal() {
  // 16 uniforms on {0..65535}: mean 16 * 32767.5, variance 16 * (65536^2 - 1) / 12.
  int64_t sum = 0;
  for (int i = 0; i < 8; ++i) {
    uint32_t w = NextU32();
    sum += (w & 0xFFFFu) + (w >> 16);
  }
  // 2 * sum - 16 * 65535 is an exact integer with mean 0.
  int64_t centered2 = 2 * sum - 16 * 65535;
  // sd of (2*sum) = 2 * sqrt(16 * (65536^2 - 1) / 12); 1/that as a double constant.
  constexpr double kInvSd2 = 1.0 / 151348.90894882593;  // 2*sqrt(16*(65536^2-1)/12)
  return static_cast<float>(static_cast<double>(centered2) * kInvSd2);
}

}  // namespace tern
