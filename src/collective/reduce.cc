#include "collective/reduce.h"

#include <emmintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "util/crc32c.h"

namespace tern::collective {
namespace {

constexpr size_t kBlock = 1024;
// Blocks of fused kernels: small enough that a block of each operand stays
// in L1 between the passes over it.
constexpr size_t kCacheBlockBytes = 16 << 10;

inline float Min(float a, float b) {
  if (a != a) return a;
  if (b != b) return b;
  return b < a ? b : a;
}
inline float Max(float a, float b) {
  if (a != a) return a;
  if (b != b) return b;
  return b > a ? b : a;
}

void CombineF32(ReduceOp op, float* d, const float* lo, const float* hi, size_t n) {
  switch (op) {
    case ReduceOp::kSum:
    case ReduceOp::kAvg:
      for (size_t i = 0; i < n; ++i) d[i] = lo[i] + hi[i];
      return;
    case ReduceOp::kMin:
      for (size_t i = 0; i < n; ++i) d[i] = Min(lo[i], hi[i]);
      return;
    case ReduceOp::kMax:
      for (size_t i = 0; i < n; ++i) d[i] = Max(lo[i], hi[i]);
      return;
  }
}

using ToFloatFn = void (*)(const uint16_t*, float*, size_t);
using FromFloatFn = void (*)(const float*, uint16_t*, size_t);

void CombineHalf(ToFloatFn to, FromFloatFn from, ReduceOp op, uint16_t* d, const uint16_t* lo,
                 const uint16_t* hi, size_t n) {
  float a[kBlock], b[kBlock];
  for (size_t i = 0; i < n; i += kBlock) {
    const size_t m = n - i < kBlock ? n - i : kBlock;
    to(lo + i, a, m);
    to(hi + i, b, m);
    CombineF32(op, a, a, b, m);
    from(a, d + i, m);
  }
}

}  // namespace

void Combine(DType dtype, ReduceOp op, void* dst, const void* lo, const void* hi, size_t count) {
  switch (dtype) {
    case DType::kF32:
      // Not __restrict across the call: dst may alias an input, which the
      // element-wise loop allows (each element is read before written).
      CombineF32(op, static_cast<float*>(dst), static_cast<const float*>(lo),
                 static_cast<const float*>(hi), count);
      return;
    case DType::kF16:
      CombineHalf(HalfToFloat, FloatToHalf, op, static_cast<uint16_t*>(dst),
                  static_cast<const uint16_t*>(lo), static_cast<const uint16_t*>(hi), count);
      return;
    case DType::kBF16:
      CombineHalf(BF16ToFloat, FloatToBF16, op, static_cast<uint16_t*>(dst),
                  static_cast<const uint16_t*>(lo), static_cast<const uint16_t*>(hi), count);
      return;
  }
}

namespace {

// StreamCopy without the closing fence (a fence waits for the stores to
// reach memory), for loops that fence once at the end.
void StreamCopyUnfenced(void* dst, const void* src, size_t bytes) {
  auto* d = static_cast<uint8_t*>(dst);
  const auto* s = static_cast<const uint8_t*>(src);
  // Non-temporal stores: the saved copy is read only if the collective
  // fails, so it should neither pollute the cache nor cost a read for
  // ownership of every line it writes.
  const size_t head = std::min(bytes, (16 - reinterpret_cast<uintptr_t>(d) % 16) % 16);
  std::memcpy(d, s, head);
  size_t i = head;
  for (; i + 64 <= bytes; i += 64) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i + 16));
    const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i + 32));
    const __m128i e = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i + 48));
    _mm_stream_si128(reinterpret_cast<__m128i*>(d + i), a);
    _mm_stream_si128(reinterpret_cast<__m128i*>(d + i + 16), b);
    _mm_stream_si128(reinterpret_cast<__m128i*>(d + i + 32), c);
    _mm_stream_si128(reinterpret_cast<__m128i*>(d + i + 48), e);
  }
  std::memcpy(d + i, s + i, bytes - i);
}

}  // namespace

void StreamCopy(void* dst, const void* src, size_t bytes) {
  StreamCopyUnfenced(dst, src, bytes);
  _mm_sfence();
}

void CombineChunk(DType dtype, ReduceOp op, void* dst, const void* lo, const void* hi,
                  size_t count, void* save, int divide_by, uint32_t* crc) {
  const size_t elem = DTypeSize(dtype), block = kCacheBlockBytes / elem;
  auto* d = static_cast<uint8_t*>(dst);
  const auto* l = static_cast<const uint8_t*>(lo);
  const auto* h = static_cast<const uint8_t*>(hi);
  auto* sv = static_cast<uint8_t*>(save);
  for (size_t i = 0; i < count; i += block) {
    const size_t m = count - i < block ? count - i : block, at = i * elem;
    // Save first (hi may alias dst); the combine then finds hi in L1.
    if (sv != nullptr) StreamCopyUnfenced(sv + at, h + at, m * elem);
    Combine(dtype, op, d + at, l + at, h + at, m);
    if (divide_by > 1) DivideBy(dtype, d + at, m, divide_by);
    if (crc != nullptr) *crc = Crc32c(d + at, m * elem, *crc);
  }
  if (sv != nullptr) _mm_sfence();
}

void StreamCopyWithCrc(void* dst, const void* src, size_t bytes, uint32_t* crc) {
  auto* d = static_cast<uint8_t*>(dst);
  const auto* s = static_cast<const uint8_t*>(src);
  for (size_t i = 0; i < bytes; i += kCacheBlockBytes) {
    const size_t m = std::min(kCacheBlockBytes, bytes - i);
    StreamCopyUnfenced(d + i, s + i, m);
    if (crc != nullptr) *crc = Crc32c(s + i, m, *crc);
  }
  _mm_sfence();
}

void DivideBy(DType dtype, void* data, size_t count, int n) {
  const float div = static_cast<float>(n);
  if (dtype == DType::kF32) {
    float* d = static_cast<float*>(data);
    for (size_t i = 0; i < count; ++i) d[i] = d[i] / div;
    return;
  }
  auto* d = static_cast<uint16_t*>(data);
  float a[kBlock];
  for (size_t i = 0; i < count; i += kBlock) {
    const size_t m = count - i < kBlock ? count - i : kBlock;
    if (dtype == DType::kF16) {
      HalfToFloat(d + i, a, m);
    } else {
      BF16ToFloat(d + i, a, m);
    }
    for (size_t j = 0; j < m; ++j) a[j] = a[j] / div;
    if (dtype == DType::kF16) {
      FloatToHalf(a, d + i, m);
    } else {
      FloatToBF16(a, d + i, m);
    }
  }
}

}  // namespace tern::collective
