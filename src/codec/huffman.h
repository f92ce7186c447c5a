// Canonical Huffman codes for small alphabets (at most 16 symbols), used for
// FedZip's cluster ids. Codes are written MSB first into the LSB-first bit
// stream (its first bit is the code's top bit), so the decoder walks the
// canonical table one bit at a time.
// Thread-compatible.
#ifndef TERN_CODEC_HUFFMAN_H_
#define TERN_CODEC_HUFFMAN_H_

#include <cstdint>

#include "codec/bits.h"

namespace tern::codec {

inline constexpr int kMaxHuffmanSymbols = 16;
inline constexpr int kMaxHuffmanLength = 15;

// Code lengths for symbol counts (0 for unused symbols; a lone used symbol
// gets length 1). Deterministic: ties merge the lower-indexed subtree first.
void HuffmanLengths(const uint64_t* counts, int nsym, uint8_t* len);

class HuffmanCode {
 public:
  // False if a length exceeds kMaxHuffmanLength or the lengths break the
  // Kraft inequality (so a hostile table cannot make the decoder misbehave).
  bool Init(const uint8_t* len, int nsym);
  void Put(int sym, BitWriter* w) const { w->Put(reversed_[sym], len_[sym]); }
  // False on a truncated stream or a code no symbol has.
  bool Get(BitReader* r, int* sym) const;

 private:
  int nsym_ = 0;
  uint8_t len_[kMaxHuffmanSymbols] = {};
  uint16_t code_[kMaxHuffmanSymbols] = {};
  uint16_t reversed_[kMaxHuffmanSymbols] = {};  // code_ bit-reversed: MSB first in one Put
  uint16_t first_[kMaxHuffmanLength + 2] = {};   // first code of each length
  uint16_t count_[kMaxHuffmanLength + 2] = {};   // codes of each length
  uint16_t offset_[kMaxHuffmanLength + 2] = {};  // index in sorted_ of the first
  uint8_t sorted_[kMaxHuffmanSymbols] = {};      // symbols by (length, symbol)
};

}  // namespace tern::codec

#endif  // TERN_CODEC_HUFFMAN_H_
