// Position coding for sparse payloads (docs/codec_spec.md, "Positions"):
// strictly increasing positions p_0 < p_1 < ... < n, written into a bit
// stream as
//   raw    32 bits per position
//   rice   5 bits of k, then per gap g_j = p_j - p_{j-1} - 1 (g_0 = p_0):
//          (g >> k) in unary (ones, then a zero), then the k low bits
//   gamma  Elias gamma of g + 1: L zeros, a one, then the L low bits of g + 1
//          (L = floor(log2(g + 1)))
// Decoding checks every position against n and the stream's length, so a
// hostile stream fails instead of looping or writing out of range.
#ifndef TERN_CODEC_INDEX_CODER_H_
#define TERN_CODEC_INDEX_CODER_H_

#include <cstddef>
#include <cstdint>

#include "codec/bits.h"
#include "codec/stages.h"
#include "tern/status.h"

namespace tern::codec {

// Upper bound on the bits EncodePositions writes for `count` positions < n.
uint64_t MaxPositionBits(const IndexCoding& coding, size_t count, size_t n);

// The Rice parameter that gives the smallest stream for these positions,
// among floor(log2(mean gap)) - 2 .. + 2 (clamped at 0; integer arithmetic).
int ChooseRiceK(const uint32_t* pos, size_t count);

template <typename After>
void EncodePositionsLocal(const IndexCoding& coding, const uint32_t* pos, size_t count,
                          BitWriter* w, After& after);

// Writes positions pos[0..count), strictly increasing; after each one,
// calls after(j, writer), which may append per-value bits to `writer`
// (FedZip's cluster ids). The loop writes through a local copy of *out (a
// writer the stores cannot alias, so its state stays in registers).
template <typename After>
void EncodePositions(const IndexCoding& coding, const uint32_t* pos, size_t count,
                     BitWriter* out, After&& after) {
  BitWriter local = *out;
  EncodePositionsLocal(coding, pos, count, &local, after);
  *out = local;
}

// Rice positions with nothing written between them, the same bits as
// EncodePositions: the codes come from the kernel table (SIMD, independent
// per gap) and up to four are joined into one Put, so the writer's state
// advances once per four positions instead of once per position.
void EncodeRicePositions(const IndexCoding& coding, const uint32_t* pos, size_t count,
                         BitWriter* out);

inline void EncodePositions(const IndexCoding& coding, const uint32_t* pos, size_t count,
                            BitWriter* w) {
  if (coding.kind == IndexKind::kRice) return EncodeRicePositions(coding, pos, count, w);
  EncodePositions(coding, pos, count, w, [](size_t, BitWriter*) {});
}

// The body of EncodePositions.
template <typename After>
void EncodePositionsLocal(const IndexCoding& coding, const uint32_t* pos, size_t count,
                          BitWriter* w, After& after) {
  if (coding.kind == IndexKind::kRaw) {
    for (size_t j = 0; j < count; ++j) {
      w->Put(pos[j], 32);
      after(j, w);
    }
    return;
  }
  uint64_t prev = 0;
  if (coding.kind == IndexKind::kRice) {
    const int k = coding.rice_k >= 0 ? coding.rice_k : ChooseRiceK(pos, count);
    w->Put(static_cast<uint64_t>(k), 5);
    const uint64_t low_mask = (uint64_t{1} << k) - 1;
    for (size_t j = 0; j < count; ++j) {
      const uint64_t g = pos[j] - prev;
      const uint64_t q = g >> k;
      if (q + 1 + static_cast<uint64_t>(k) <= 56) {  // unary and low bits in one Put
        w->Put(((uint64_t{1} << q) - 1) | ((g & low_mask) << (q + 1)),
               static_cast<int>(q) + 1 + k);
      } else {
        w->PutUnary(q);
        w->Put(g, k);
      }
      prev = uint64_t{pos[j]} + 1;
      after(j, w);
    }
    return;
  }
  for (size_t j = 0; j < count; ++j) {
    const uint64_t v = pos[j] - prev + 1;
    const int len = 63 - __builtin_clzll(v);  // <= 32
    // len zeros, the leading one, the low len bits.
    if (2 * len + 1 <= 56) {
      w->Put((uint64_t{1} << len) | ((v & ((uint64_t{1} << len) - 1)) << (len + 1)), 2 * len + 1);
    } else {
      w->Put(0, len);
      w->Put(1, 1);
      w->Put(v, len);
    }
    prev = uint64_t{pos[j]} + 1;
    after(j, w);
  }
}

// Reads `count` positions < n, calling fn(j, position) in order; fn returns
// false if what it read after the position was invalid (kDataLoss).
// kDataLoss for a truncated stream; kInvalidArgument for a position >= n
// (or out of order, for raw).
template <typename Fn>
Status DecodePositions(const IndexCoding& coding, BitReader* r, size_t count, size_t n, Fn&& fn) {
  uint64_t next = 0;  // smallest position allowed next
  uint64_t v = 0;
  if (coding.kind == IndexKind::kRaw) {
    for (size_t j = 0; j < count; ++j) {
      if (!r->Get(32, &v)) return DataLossError("truncated positions");
      if (v < next || v >= n) return InvalidArgumentError("position out of order or range");
      if (!fn(j, static_cast<uint32_t>(v))) return DataLossError("bad value code");
      next = v + 1;
    }
    return OkStatus();
  }
  if (coding.kind == IndexKind::kRice) {
    uint64_t k = 0;
    if (!r->Get(5, &k)) return DataLossError("truncated positions");
    if (k > 30) return InvalidArgumentError("Rice parameter > 30");
    for (size_t j = 0; j < count; ++j) {
      uint64_t q = 0, low = 0;
      BitReader::Unary u = r->GetUnary((n - next) >> k, &q);  // more ones: position >= n
      if (u == BitReader::Unary::kTooLong) return InvalidArgumentError("position out of range");
      if (u == BitReader::Unary::kTruncated || !r->Get(static_cast<int>(k), &low)) {
        return DataLossError("truncated positions");
      }
      uint64_t p = next + ((q << k) | low);
      if (p >= n) return InvalidArgumentError("position out of range");
      if (!fn(j, static_cast<uint32_t>(p))) return DataLossError("bad value code");
      next = p + 1;
    }
    return OkStatus();
  }
  for (size_t j = 0; j < count; ++j) {
    int zeros = 0;
    uint64_t low = 0;
    if (!r->GetZeros(32, &zeros) || !r->Get(zeros, &low)) {
      return DataLossError("truncated positions");
    }
    uint64_t p = next + ((uint64_t{1} << zeros) | low) - 1;
    if (p >= n) return InvalidArgumentError("position out of range");
    if (!fn(j, static_cast<uint32_t>(p))) return DataLossError("bad value code");
    next = p + 1;
  }
  return OkStatus();
}

}  // namespace tern::codec

#endif  // TERN_CODEC_INDEX_CODER_H_
