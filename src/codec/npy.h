// NumPy .npy files: the tensor format `tern codec` reads and writes. Reads
// format versions 1.0 to 3.0 with dtype little-endian float32 ('<f4') or
// float16 ('<f2') in C order; writes version 1.0. The bytes are untrusted
// (files from users and peers): every header field is bounded, the shape's
// element count is checked against the bytes that follow (without
// overflow) before anything is allocated, and a malformed file is a status,
// never a crash (fuzz/codec_npy_fuzz.cc). Thread-safe (no shared state).
//
//   TERN_ASSIGN_OR_RETURN(codec::NpyArray a, codec::ParseNpy(file_bytes));
//   TensorView v(a.data.data(), a.dtype, a.shape);
//   std::string out = codec::EncodeNpy(values, a.shape, DType::kF32);
#ifndef TERN_CODEC_NPY_H_
#define TERN_CODEC_NPY_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tern/status.h"
#include "tern/tensor.h"

namespace tern::codec {

struct NpyArray {
  DType dtype = DType::kF32;  // kF32 or kF16
  Shape shape;
  std::vector<uint8_t> data;  // shape.numel() values of dtype, little-endian
};

// True if `bytes` starts with the .npy magic.
bool IsNpy(std::string_view bytes);

// Parses a whole .npy file. kInvalidArgument for a file that is not .npy,
// an unsupported version, dtype or order, a malformed header or shape, or a
// data size that differs from the shape's; kDataLoss if it ends inside the
// preamble or header. Allocates only the data (at most bytes.size()).
Result<NpyArray> ParseNpy(std::string_view bytes);

// A version 1.0 file of `values` with `shape` (numel must equal
// values.size()), stored as '<f4', or as '<f2' (rounded half to even) when
// dtype is kF16.
std::string EncodeNpy(std::span<const float> values, const Shape& shape, DType dtype);

}  // namespace tern::codec

#endif  // TERN_CODEC_NPY_H_
