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

#include "tern/communicator.h"
#include "tern/tensor.h"

namespace tern::collective {

// dst[i] = op(lo[i], hi[i]) for `count` elements; dst may alias lo or hi.
// kAvg combines as kSum (divide once at the end with DivideBy).
void Combine(DType dtype, ReduceOp op, void* dst, const void* lo, const void* hi, size_t count);

// save[i] = b[i]; dst[i] = op(a[i], b[i]) in one pass over the memory (in
// cache-sized blocks); dst may alias a or b, save aliases neither.
void CombineAndSave(DType dtype, ReduceOp op, void* dst, const void* a, const void* b, void* save,
                    size_t count);

// memcpy with non-temporal stores, for copies that are rarely read back.
void StreamCopy(void* dst, const void* src, size_t bytes);

// data[i] = data[i] / n, computed in fp32 and rounded once.
void DivideBy(DType dtype, void* data, size_t count, int n);

}  // namespace tern::collective

#endif  // TERN_COLLECTIVE_REDUCE_H_
