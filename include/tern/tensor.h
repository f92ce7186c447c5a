// Tensors as tern sees them: a typed view of someone else's memory.
//
// tern never owns a trainer's buffers. A TensorView names a contiguous,
// row-major buffer of fp32, fp16 or bf16 values with a shape (rank <= 8).
// Collectives and codecs read and write through views; the caller keeps the
// memory alive for the duration of the call (or until an async handle's
// Wait() returns).
//
// Also here: fp16 and bf16 conversions with round-to-nearest-even, scalar and
// bulk. The bulk ones use F16C / AVX-512 BF16 when the CPU has them and give
// bit-identical results to the scalar ones (tested).
//
//   std::vector<float> grad(1024);
//   tern::TensorView v = tern::TensorView::Of(grad);        // fp32, shape {1024}
//   tern::TensorView m(ptr, tern::DType::kBF16, {256, 4});
//
// Thread-compatible.
#ifndef TERN_TENSOR_H_
#define TERN_TENSOR_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tern/export.h"
#include "tern/status.h"

namespace tern {

// Element types. Values are part of the blob and wire formats: never renumber.
enum class DType : uint8_t { kF32 = 0, kF16 = 1, kBF16 = 2 };

constexpr size_t DTypeSize(DType t) { return t == DType::kF32 ? 4 : 2; }
TERN_EXPORT std::string_view DTypeName(DType t);  // "f32", "f16", "bf16"
TERN_EXPORT Result<DType> ParseDType(std::string_view name);

class TERN_EXPORT Shape {
 public:
  static constexpr int kMaxRank = 8;
  Shape() = default;  // rank 0: a scalar, one element
  Shape(std::initializer_list<int64_t> dims);
  static Result<Shape> FromVector(const std::vector<int64_t>& dims);
  static Shape Flat(int64_t n) { return Shape({n}); }

  int rank() const { return rank_; }
  int64_t dim(int i) const { return dims_[i]; }
  int64_t numel() const;
  std::vector<int64_t> dims() const { return {dims_.begin(), dims_.begin() + rank_}; }
  std::string ToString() const;  // "[256, 4]"
  friend bool operator==(const Shape& a, const Shape& b) {
    if (a.rank_ != b.rank_) return false;
    for (int i = 0; i < a.rank_; ++i)
      if (a.dims_[i] != b.dims_[i]) return false;
    return true;
  }

 private:
  int rank_ = 0;
  std::array<int64_t, kMaxRank> dims_{};
};

struct TERN_EXPORT TensorView {
  void* data = nullptr;
  DType dtype = DType::kF32;
  Shape shape;

  TensorView() = default;
  TensorView(void* d, DType t, Shape s) : data(d), dtype(t), shape(s) {}
  static TensorView Of(std::span<float> v) {
    return TensorView(v.data(), DType::kF32, Shape::Flat(static_cast<int64_t>(v.size())));
  }

  size_t numel() const { return static_cast<size_t>(shape.numel()); }
  size_t nbytes() const { return numel() * DTypeSize(dtype); }
  // REQUIRES: dtype == kF32.
  std::span<float> f32() const { return {static_cast<float*>(data), numel()}; }
  std::span<uint16_t> u16() const { return {static_cast<uint16_t*>(data), numel()}; }
  std::span<uint8_t> bytes() const { return {static_cast<uint8_t*>(data), nbytes()}; }
};

// Scalar conversions, round-to-nearest-even; NaN stays NaN, overflow to fp16
// gives infinity.
TERN_EXPORT uint16_t FloatToHalf(float f);
TERN_EXPORT float HalfToFloat(uint16_t h);
TERN_EXPORT uint16_t FloatToBF16(float f);
inline float BF16ToFloat(uint16_t b) {
  uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}

// Bulk conversions of n values; the fast paths equal the scalar ones.
TERN_EXPORT void FloatToHalf(const float* in, uint16_t* out, size_t n);
TERN_EXPORT void HalfToFloat(const uint16_t* in, float* out, size_t n);
TERN_EXPORT void FloatToBF16(const float* in, uint16_t* out, size_t n);
TERN_EXPORT void BF16ToFloat(const uint16_t* in, float* out, size_t n);

// Converts any dtype to fp32 (out has view.numel() floats) and back.
TERN_EXPORT void ToFloat(const TensorView& view, float* out);
TERN_EXPORT void FromFloat(const float* in, const TensorView& view);

}  // namespace tern

#endif  // TERN_TENSOR_H_
