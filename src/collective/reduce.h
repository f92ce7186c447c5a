// Element-wise reduction kernels for collectives.
//
// Every rank calls them with identical operands in identical order for a
// given element (the owner of a segment reduces it once; recursive doubling
// orders operands by group), so results are bit-identical by construction.
// fp16/bf16 are widened to fp32, combined, and rounded once (nearest-even).
// Min/max propagate NaN: if either operand is NaN the result is NaN (the
// first NaN operand's bits).
//
// Thread-safe: pure functions.
#ifndef TERN_COLLECTIVE_REDUCE_H_
#define TERN_COLLECTIVE_REDUCE_H_

#include <cstddef>
#include <cstdint>

#include "tern/communicator.h"
#include "tern/tensor.h"

namespace tern::collective {

// dst[i] = op(lo[i], hi[i]) for `count` elements; dst may alias lo or hi.
// kAvg combines as kSum (divide once at the end with DivideBy).
void Combine(DType dtype, ReduceOp op, void* dst, const void* lo, const void* hi, size_t count);

// One chunk of a ring step, in L1-sized blocks so that memory is read
// once: save[i] = hi[i] first (non-temporal; skipped if save is null), then
// dst[i] = op(lo[i], hi[i]), divided by `divide_by` if it is > 1 (kAvg's
// last step; the same roundings as Combine then DivideBy), and *crc (if
// set) extended with crc32c over the bytes written to dst while they are in
// L1, for the frame that sends them on. dst may alias lo or hi; save
// aliases neither.
void CombineChunk(DType dtype, ReduceOp op, void* dst, const void* lo, const void* hi,
                  size_t count, void* save, int divide_by, uint32_t* crc);

// memcpy with non-temporal stores, for copies that are rarely read back.
void StreamCopy(void* dst, const void* src, size_t bytes);
// StreamCopy that also extends *crc over the bytes, read once.
void StreamCopyWithCrc(void* dst, const void* src, size_t bytes, uint32_t* crc);

// data[i] = data[i] / n, computed in fp32 and rounded once.
void DivideBy(DType dtype, void* data, size_t count, int n);

}  // namespace tern::collective

#endif  // TERN_COLLECTIVE_REDUCE_H_
