// Bit streams for the entropy-coded stages: LSB-first (bit i of the stream is
// bit i%8 of byte i/8), little-endian, padded with zero bits to a byte.
// BitReader treats its input as hostile: every read is bounds-checked and
// reports failure instead of reading past the end. Thread-compatible.
#ifndef TERN_CODEC_BITS_H_
#define TERN_CODEC_BITS_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "util/check.h"

namespace tern::codec {

class BitWriter {
 public:
  // Writes into out[0, cap); the caller sized it with the codec's bound, so
  // running out of room is our bug (checked). While 8 bytes of room remain
  // past the write position, each Put stores 8 bytes at once (zero bits past
  // the stream, overwritten by later bits or left as slack inside cap).
  BitWriter(uint8_t* out, size_t cap) : out_(out), cap_(cap) {}

  // Appends the low `nbits` (<= 56) bits of v.
  void Put(uint64_t v, int nbits) {
    acc_ |= (v & ((uint64_t{1} << nbits) - 1)) << fill_;
    fill_ += nbits;  // <= 63: fill_ < 8 between calls
    if (pos_ + 8 <= cap_) {
      std::memcpy(out_ + pos_, &acc_, 8);  // little-endian host (codec_util.h)
      const int bytes = fill_ >> 3;  // <= 7
      pos_ += static_cast<size_t>(bytes);
      acc_ >>= 8 * bytes;
      fill_ &= 7;
    } else {
      FlushBytes();
    }
  }
  // q one-bits then a zero-bit.
  void PutUnary(uint64_t q) {
    while (q >= 48) {
      Put(0xFFFFFFFFFFFFull, 48);
      q -= 48;
    }
    Put((uint64_t{1} << q) - 1, static_cast<int>(q) + 1);
  }
  // Pads to a byte and returns the bytes written in all.
  size_t Finish() {
    if (fill_ > 0) {
      TERN_CHECK_LT(pos_, cap_);
      out_[pos_++] = static_cast<uint8_t>(acc_);
      acc_ = 0;
      fill_ = 0;
    }
    return pos_;
  }
  uint64_t bits() const { return pos_ * 8 + fill_; }

 private:
  void FlushBytes() {
    while (fill_ >= 8) {
      TERN_CHECK_LT(pos_, cap_);
      out_[pos_++] = static_cast<uint8_t>(acc_);
      acc_ >>= 8;
      fill_ -= 8;
    }
  }
  uint8_t* out_;
  size_t cap_;
  size_t pos_ = 0;
  uint64_t acc_ = 0;
  int fill_ = 0;
};

class BitReader {
 public:
  BitReader(const uint8_t* data, size_t n) : p_(data), end_(data + n) {}

  // Reads `nbits` (<= 32) bits into *v; false if the stream is too short.
  bool Get(int nbits, uint64_t* v) {
    if (fill_ < nbits) {
      Refill();
      if (fill_ < nbits) return false;
    }
    *v = acc_ & ((uint64_t{1} << nbits) - 1);
    acc_ >>= nbits;
    fill_ -= nbits;
    return true;
  }
  // Counts one-bits up to the next zero-bit (consumed).
  enum class Unary { kOk, kTruncated, kTooLong };
  Unary GetUnary(uint64_t limit, uint64_t* q) {
    uint64_t n = 0;
    while (true) {
      if (fill_ == 0) {
        Refill();
        if (fill_ == 0) return Unary::kTruncated;
      }
      uint64_t ones = static_cast<uint64_t>(__builtin_ctzll(~acc_));  // acc_ has fill_ valid bits
      if (ones < static_cast<uint64_t>(fill_)) {
        n += ones;
        if (n > limit) return Unary::kTooLong;
        acc_ >>= ones + 1;
        fill_ -= static_cast<int>(ones) + 1;
        *q = n;
        return Unary::kOk;
      }
      n += static_cast<uint64_t>(fill_);
      if (n > limit) return Unary::kTooLong;
      acc_ = 0;
      fill_ = 0;
    }
  }
  // Counts zero-bits up to the next one-bit (consumed); false past `limit`.
  bool GetZeros(int limit, int* zeros) {
    int n = 0;
    while (true) {
      if (fill_ == 0) {
        Refill();
        if (fill_ == 0) return false;
      }
      if (acc_ != 0) {
        int z = __builtin_ctzll(acc_);
        n += z;
        if (n > limit) return false;
        acc_ >>= z;
        acc_ >>= 1;
        fill_ -= z + 1;
        *zeros = n;
        return true;
      }
      n += fill_;
      if (n > limit) return false;
      fill_ = 0;
    }
  }
  // True if what is left is fewer than 8 bits, all zero (the padding).
  bool AtPaddedEnd() {
    Refill();
    return p_ == end_ && fill_ < 8 && acc_ == 0;
  }

 private:
  void Refill() {
    while (fill_ <= 55 && p_ < end_) {  // keeps fill_ <= 63
      acc_ |= static_cast<uint64_t>(*p_++) << fill_;
      fill_ += 8;
    }
  }
  const uint8_t* p_;
  const uint8_t* end_;
  uint64_t acc_ = 0;
  int fill_ = 0;
};

}  // namespace tern::codec

#endif  // TERN_CODEC_BITS_H_
