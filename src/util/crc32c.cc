#include "util/crc32c.h"

#include "util/cpu.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace tern {
namespace internal {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // reflected Castagnoli polynomial

constexpr std::array<std::array<uint32_t, 256>, 8> MakeTables() {
  std::array<std::array<uint32_t, 256>, 8> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i) {
    for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
  }
  return t;
}
constexpr auto kTables = MakeTables();

}  // namespace

uint32_t Crc32cPortable(const void* data, size_t n, uint32_t crc) {
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);  // little-endian host assumed (x86-64, aarch64)
    w ^= crc;
    crc = kTables[7][w & 0xFF] ^ kTables[6][(w >> 8) & 0xFF] ^ kTables[5][(w >> 16) & 0xFF] ^
          kTables[4][(w >> 24) & 0xFF] ^ kTables[3][(w >> 32) & 0xFF] ^
          kTables[2][(w >> 40) & 0xFF] ^ kTables[1][(w >> 48) & 0xFF] ^ kTables[0][w >> 56];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = (crc >> 8) ^ kTables[0][(crc ^ *p++) & 0xFF];
  return ~crc;
}

#if defined(__x86_64__)
namespace {

// Three independent crc32 streams hide the instruction's 3-cycle latency
// (about 3x the throughput of one chain); the partial CRCs are joined by
// "append len zero bytes" operators, as in Mark Adler's crc32c.c.
constexpr size_t kLong = 8192, kShort = 256;

uint32_t Gf2Times(const uint32_t* mat, uint32_t vec) {
  uint32_t sum = 0;
  for (; vec; vec >>= 1, ++mat)
    if (vec & 1) sum ^= *mat;
  return sum;
}
void Gf2Square(uint32_t* square, const uint32_t* mat) {
  for (int n = 0; n < 32; ++n) square[n] = Gf2Times(mat, mat[n]);
}
// Tables applying `len` (a power of two) zero bytes to a CRC, byte by byte.
struct ZerosTable {
  uint32_t t[4][256];
  explicit ZerosTable(size_t len) {
    uint32_t even[32], odd[32];
    odd[0] = kPoly;
    for (uint32_t n = 1, row = 1; n < 32; ++n, row <<= 1) odd[n] = row;
    Gf2Square(even, odd);  // 2 zero bits
    Gf2Square(odd, even);  // 4 zero bits
    const uint32_t* op = nullptr;
    for (;;) {
      Gf2Square(even, odd);
      len >>= 1;
      if (len == 0) {
        op = even;
        break;
      }
      Gf2Square(odd, even);
      len >>= 1;
      if (len == 0) {
        op = odd;
        break;
      }
    }
    for (uint32_t n = 0; n < 256; ++n) {
      for (int k = 0; k < 4; ++k) t[k][n] = Gf2Times(op, n << (8 * k));
    }
  }
  uint32_t Shift(uint32_t crc) const {
    return t[0][crc & 0xFF] ^ t[1][(crc >> 8) & 0xFF] ^ t[2][(crc >> 16) & 0xFF] ^ t[3][crc >> 24];
  }
};

__attribute__((target("sse4.2"))) uint64_t Crc3Way(const uint8_t*& p, size_t& n, uint64_t c,
                                                  size_t block, const ZerosTable& zeros) {
  while (n >= 3 * block) {
    uint64_t c1 = 0, c2 = 0;
    for (const uint8_t* end = p + block; p < end; p += 8) {
      uint64_t w0, w1, w2;
      std::memcpy(&w0, p, 8);
      std::memcpy(&w1, p + block, 8);
      std::memcpy(&w2, p + 2 * block, 8);
      c = __builtin_ia32_crc32di(c, w0);
      c1 = __builtin_ia32_crc32di(c1, w1);
      c2 = __builtin_ia32_crc32di(c2, w2);
    }
    c = zeros.Shift(static_cast<uint32_t>(c)) ^ c1;
    c = zeros.Shift(static_cast<uint32_t>(c)) ^ c2;
    p += 2 * block;
    n -= 3 * block;
  }
  return c;
}

// Folding with 512-bit carry-less multiplies (Gopal et al., "Fast CRC
// computation for generic polynomials using PCLMULQDQ", Intel 2009), about
// twice the crc32 instruction's rate where VPCLMULQDQ exists. Each 128-bit
// lane of an accumulator absorbs the lane D bits further on:
//   lane' = lo64(lane) * (x^(D+63) mod P) ^ hi64(lane) * (x^(D-1) mod P) ^ next
// (reflected operands; the -1 undoes the one-bit shift of a reflected
// product), which keeps the message's value mod P. The final 16 bytes go
// through the crc32 instruction, whose result depends only on that value.
uint64_t ReflectedXPowModP(int power) {
  uint64_t r = 1;  // x^power mod P, unreflected, degree < 32
  for (int i = 0; i < power; ++i) {
    r <<= 1;
    if (r & (uint64_t{1} << 32)) r ^= 0x11EDC6F41ull;
  }
  uint64_t out = 0;
  for (int d = 0; d < 32; ++d)
    if (r & (uint64_t{1} << d)) out |= uint64_t{1} << (63 - d);
  return out;
}

// The (lo, hi) constant pair of folding distance `bits`.
std::array<uint64_t, 2> FoldPair(int bits) {
  return {ReflectedXPowModP(bits + 63), ReflectedXPowModP(bits - 1)};
}

#define TERN_FOLD_TARGET __attribute__((target("avx512f,vpclmulqdq,pclmul,sse4.2")))

TERN_FOLD_TARGET inline __m512i Lanes(const std::array<uint64_t, 2>& k) {
  const auto lo = static_cast<long long>(k[0]), hi = static_cast<long long>(k[1]);
  return _mm512_set_epi64(hi, lo, hi, lo, hi, lo, hi, lo);
}
TERN_FOLD_TARGET inline __m512i Fold512(__m512i acc, __m512i k, __m512i next) {
  return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(acc, k, 0x00),
                                   _mm512_clmulepi64_epi128(acc, k, 0x11), next, 0x96);
}
TERN_FOLD_TARGET inline __m128i Fold128(__m128i acc, const std::array<uint64_t, 2>& k) {
  const __m128i kk = _mm_set_epi64x(static_cast<long long>(k[1]), static_cast<long long>(k[0]));
  return _mm_xor_si128(_mm_clmulepi64_si128(acc, kk, 0x00), _mm_clmulepi64_si128(acc, kk, 0x11));
}

// Consumes a multiple of 256 bytes (at least 256) and returns the register.
TERN_FOLD_TARGET uint64_t CrcFolded512(const uint8_t*& p, size_t& n, uint64_t c) {
  static const std::array<uint64_t, 2> k2048 = FoldPair(2048), k512 = FoldPair(512),
                                       k384 = FoldPair(384), k256 = FoldPair(256),
                                       k128 = FoldPair(128);
  const __m512i kd = Lanes(k2048), k4 = Lanes(k512);
  __m512i x0 = _mm512_xor_si512(_mm512_loadu_si512(p),
                                _mm512_zextsi128_si512(_mm_cvtsi32_si128(static_cast<int>(c))));
  __m512i x1 = _mm512_loadu_si512(p + 64), x2 = _mm512_loadu_si512(p + 128),
          x3 = _mm512_loadu_si512(p + 192);
  for (p += 256, n -= 256; n >= 256; p += 256, n -= 256) {
    x0 = Fold512(x0, kd, _mm512_loadu_si512(p));
    x1 = Fold512(x1, kd, _mm512_loadu_si512(p + 64));
    x2 = Fold512(x2, kd, _mm512_loadu_si512(p + 128));
    x3 = Fold512(x3, kd, _mm512_loadu_si512(p + 192));
  }
  const __m512i x = Fold512(Fold512(Fold512(x0, k4, x1), k4, x2), k4, x3);
  // Four lanes, earliest first: fold lanes 0..2 into lane 3. (Through
  // memory: g++ 12 warns falsely inside the lane-extract intrinsics.)
  alignas(64) uint8_t lane[64];
  _mm512_store_si512(lane, x);
  auto at = [&](int i) { return _mm_load_si128(reinterpret_cast<const __m128i*>(lane + 16 * i)); };
  __m128i r = at(3);
  r = _mm_xor_si128(r, Fold128(at(0), k384));
  r = _mm_xor_si128(r, Fold128(at(1), k256));
  r = _mm_xor_si128(r, Fold128(at(2), k128));
  const uint64_t h = __builtin_ia32_crc32di(0, static_cast<uint64_t>(_mm_cvtsi128_si64(r)));
  return __builtin_ia32_crc32di(h, static_cast<uint64_t>(_mm_extract_epi64(r, 1)));
}
#undef TERN_FOLD_TARGET

}  // namespace

__attribute__((target("sse4.2"))) uint32_t Crc32cHardware(const void* data, size_t n,
                                                          uint32_t crc) {
  static const ZerosTable kLongZeros(kLong), kShortZeros(kShort);
  static const bool folding = Cpu().vpclmulqdq;
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t c = ~crc;
  if (folding && n >= 1024) c = CrcFolded512(p, n, c);
  c = Crc3Way(p, n, c, kLong, kLongZeros);
  c = Crc3Way(p, n, c, kShort, kShortZeros);
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    c = __builtin_ia32_crc32di(c, w);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n-- > 0) c32 = __builtin_ia32_crc32qi(c32, *p++);
  return ~c32;
}
bool Crc32cHardwareAvailable() { return Cpu().sse42; }
#else
uint32_t Crc32cHardware(const void* data, size_t n, uint32_t crc) {
  return Crc32cPortable(data, n, crc);
}
bool Crc32cHardwareAvailable() { return false; }
#endif

}  // namespace internal

uint32_t Crc32c(const void* data, size_t n, uint32_t crc) {
  static const bool hw = internal::Crc32cHardwareAvailable();
  return hw ? internal::Crc32cHardware(data, n, crc) : internal::Crc32cPortable(data, n, crc);
}

}  // namespace tern
