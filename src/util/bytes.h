// Little-endian byte I/O for everything tern writes to a wire or a file.
//
// ByteWriter appends fixed-width little-endian integers, floats and raw bytes
// to a std::string, byte by byte (STYLE.md, "Wire"). ByteReader reads them
// back from an untrusted buffer: every read is bounds-checked and a short
// buffer yields kDataLoss, never a read past the end (DESIGN.md semantic 7).
//
//   ByteWriter w(&out);
//   w.U32(kMagic); w.U64(n); w.Bytes(payload);
//
//   ByteReader r(buf);
//   TERN_ASSIGN_OR_RETURN(uint32_t magic, r.U32());
//   TERN_ASSIGN_OR_RETURN(uint64_t n, r.U64());
//   if (n > kMaxElements) return DataLossError("too many elements");
//
// Thread-compatible.
#ifndef TERN_UTIL_BYTES_H_
#define TERN_UTIL_BYTES_H_

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "tern/status.h"

namespace tern {

inline void StoreLE32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void StoreLE64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint32_t LoadLE32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(p[i]) << (8 * i);
  return v;
}
inline uint64_t LoadLE64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

class ByteWriter {
 public:
  // Appends to *out, which must outlive the writer.
  explicit ByteWriter(std::string* out) : out_(out) {}

  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void U16(uint16_t v) {
    U8(static_cast<uint8_t>(v));
    U8(static_cast<uint8_t>(v >> 8));
  }
  void U32(uint32_t v) {
    uint8_t b[4];
    StoreLE32(b, v);
    out_->append(reinterpret_cast<const char*>(b), 4);
  }
  void U64(uint64_t v) {
    uint8_t b[8];
    StoreLE64(b, v);
    out_->append(reinterpret_cast<const char*>(b), 8);
  }
  void F32(float v) {
    uint32_t u;
    std::memcpy(&u, &v, 4);
    U32(u);
  }
  void F64(double v) {
    uint64_t u;
    std::memcpy(&u, &v, 8);
    U64(u);
  }
  void Bytes(std::string_view b) { out_->append(b.data(), b.size()); }
  void Bytes(const void* p, size_t n) { out_->append(static_cast<const char*>(p), n); }
  // A u32 length followed by the bytes.
  void LengthPrefixed(std::string_view b) {
    U32(static_cast<uint32_t>(b.size()));
    Bytes(b);
  }
  size_t size() const { return out_->size(); }

 private:
  std::string* out_;
};

class ByteReader {
 public:
  ByteReader(const void* data, size_t n) : p_(static_cast<const uint8_t*>(data)), left_(n) {}
  explicit ByteReader(std::string_view s) : ByteReader(s.data(), s.size()) {}
  explicit ByteReader(std::span<const uint8_t> s) : ByteReader(s.data(), s.size()) {}

  size_t remaining() const { return left_; }
  const uint8_t* cursor() const { return p_; }

  Result<uint8_t> U8() {
    TERN_RETURN_IF_ERROR(Need(1));
    uint8_t v = p_[0];
    Advance(1);
    return v;
  }
  Result<uint16_t> U16() {
    TERN_RETURN_IF_ERROR(Need(2));
    uint16_t v = static_cast<uint16_t>(p_[0] | (p_[1] << 8));
    Advance(2);
    return v;
  }
  Result<uint32_t> U32() {
    TERN_RETURN_IF_ERROR(Need(4));
    uint32_t v = LoadLE32(p_);
    Advance(4);
    return v;
  }
  Result<uint64_t> U64() {
    TERN_RETURN_IF_ERROR(Need(8));
    uint64_t v = LoadLE64(p_);
    Advance(8);
    return v;
  }
  Result<float> F32() {
    TERN_ASSIGN_OR_RETURN(uint32_t u, U32());
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
  Result<double> F64() {
    TERN_ASSIGN_OR_RETURN(uint64_t u, U64());
    double d;
    std::memcpy(&d, &u, 8);
    return d;
  }
  // A view of the next n bytes (valid while the underlying buffer is).
  Result<std::string_view> Bytes(size_t n) {
    TERN_RETURN_IF_ERROR(Need(n));
    std::string_view v(reinterpret_cast<const char*>(p_), n);
    Advance(n);
    return v;
  }
  // A u32 length (at most max_len) followed by that many bytes.
  Result<std::string_view> LengthPrefixed(size_t max_len) {
    TERN_ASSIGN_OR_RETURN(uint32_t n, U32());
    if (n > max_len) return DataLossError("length prefix " + std::to_string(n) + " exceeds " +
                                          std::to_string(max_len));
    return Bytes(n);
  }
  Status Skip(size_t n) {
    TERN_RETURN_IF_ERROR(Need(n));
    Advance(n);
    return OkStatus();
  }

 private:
  Status Need(size_t n) const {
    if (n > left_) {
      return DataLossError("truncated input: need " + std::to_string(n) + " bytes, have " +
                           std::to_string(left_));
    }
    return OkStatus();
  }
  void Advance(size_t n) {
    p_ += n;
    left_ -= n;
  }
  const uint8_t* p_;
  size_t left_;
};

}  // namespace tern

#endif  // TERN_UTIL_BYTES_H_
