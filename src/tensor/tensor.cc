#include "tern/tensor.h"

#include <cstring>

#include "util/check.h"

namespace tern {

std::string_view DTypeName(DType t) {
  switch (t) {
    case DType::kF32: return "f32";
    case DType::kF16: return "f16";
    case DType::kBF16: return "bf16";
  }
  return "?";
}

Result<DType> ParseDType(std::string_view name) {
  if (name == "f32" || name == "fp32" || name == "float32") return DType::kF32;
  if (name == "f16" || name == "fp16" || name == "float16") return DType::kF16;
  if (name == "bf16" || name == "bfloat16") return DType::kBF16;
  return InvalidArgumentError("unknown dtype '" + std::string(name) + "' (want f32, f16 or bf16)");
}

Shape::Shape(std::initializer_list<int64_t> dims) {
  TERN_CHECK_LE(dims.size(), static_cast<size_t>(kMaxRank));
  for (int64_t d : dims) {
    TERN_CHECK_GE(d, 0);
    dims_[rank_++] = d;
  }
}

Result<Shape> Shape::FromVector(const std::vector<int64_t>& dims) {
  if (dims.size() > static_cast<size_t>(kMaxRank)) {
    return InvalidArgumentError("rank " + std::to_string(dims.size()) + " exceeds 8");
  }
  Shape s;
  for (int64_t d : dims) {
    if (d < 0) return InvalidArgumentError("negative dimension");
    s.dims_[s.rank_++] = d;
  }
  return s;
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= dims_[i];
  return n;
}

std::string Shape::ToString() const {
  std::string s = "[";
  for (int i = 0; i < rank_; ++i) {
    if (i) s += ", ";
    s += std::to_string(dims_[i]);
  }
  return s + "]";
}

void ToFloat(const TensorView& v, float* out) {
  switch (v.dtype) {
    case DType::kF32: std::memcpy(out, v.data, v.nbytes()); return;
    case DType::kF16: HalfToFloat(static_cast<const uint16_t*>(v.data), out, v.numel()); return;
    case DType::kBF16: BF16ToFloat(static_cast<const uint16_t*>(v.data), out, v.numel()); return;
  }
}

void FromFloat(const float* in, const TensorView& v) {
  switch (v.dtype) {
    case DType::kF32: std::memcpy(v.data, in, v.nbytes()); return;
    case DType::kF16: FloatToHalf(in, static_cast<uint16_t*>(v.data), v.numel()); return;
    case DType::kBF16: FloatToBF16(in, static_cast<uint16_t*>(v.data), v.numel()); return;
  }
}

}  // namespace tern
