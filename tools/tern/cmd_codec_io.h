// Tensor files for `tern codec`: raw little-endian fp32 and NumPy .npy
// (fp32 '<f4' or fp16 '<f2', C order; the parser is codec/npy.h). Inputs are untrusted: sizes are
// checked before allocating, and bad files give kInvalidArgument/kDataLoss.
#ifndef TERN_TOOLS_TERN_CMD_CODEC_IO_H_
#define TERN_TOOLS_TERN_CMD_CODEC_IO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "tern/status.h"
#include "tern/tensor.h"

namespace tern::cli {

// A tensor read from a file: raw bytes in `dtype` (fp32 or fp16).
struct TensorFile {
  DType dtype = DType::kF32;
  Shape shape;
  std::vector<uint8_t> data;
  TensorView view() { return TensorView(data.data(), dtype, shape); }
};

// Reads a whole file of at most max_bytes. kNotFound / kInvalidArgument.
Result<std::string> ReadFile(const std::string& path, uint64_t max_bytes);
Status WriteFile(const std::string& path, std::string_view bytes);

// `.npy` by extension or by its magic (parsed by codec/npy.h); otherwise raw
// fp32 (size % 4 == 0).
Result<TensorFile> ReadTensorFile(const std::string& path, uint64_t max_bytes);

}  // namespace tern::cli

#endif  // TERN_TOOLS_TERN_CMD_CODEC_IO_H_
