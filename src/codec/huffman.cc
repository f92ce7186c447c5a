#include "codec/huffman.h"

namespace tern::codec {

void HuffmanLengths(const uint64_t* counts, int nsym, uint8_t* len) {
  uint64_t weight[kMaxHuffmanSymbols];
  uint32_t members[kMaxHuffmanSymbols];  // bit mask of the symbols in each subtree
  int live = 0;
  for (int s = 0; s < nsym; ++s) {
    len[s] = 0;
    if (counts[s] > 0) weight[live] = counts[s], members[live++] = 1u << s;
  }
  if (live == 1) {
    len[__builtin_ctz(members[0])] = 1;
    return;
  }
  while (live > 1) {
    int a = 0, b = 1;  // the two lightest, lower index first on ties
    if (weight[b] < weight[a]) a = 1, b = 0;
    for (int i = 2; i < live; ++i) {
      if (weight[i] < weight[a]) {
        b = a, a = i;
      } else if (weight[i] < weight[b]) {
        b = i;
      }
    }
    for (int s = 0; s < nsym; ++s) {
      if ((members[a] | members[b]) >> s & 1) ++len[s];
    }
    int lo = a < b ? a : b, hi = a < b ? b : a;
    weight[lo] = weight[a] + weight[b];
    members[lo] = members[a] | members[b];
    weight[hi] = weight[live - 1];
    members[hi] = members[live - 1];
    --live;
  }
}

bool HuffmanCode::Init(const uint8_t* len, int nsym) {
  if (nsym < 1 || nsym > kMaxHuffmanSymbols) return false;
  nsym_ = nsym;
  uint32_t kraft = 0;  // in units of 2^-15
  for (int l = 0; l <= kMaxHuffmanLength + 1; ++l) count_[l] = 0;
  for (int s = 0; s < nsym; ++s) {
    if (len[s] > kMaxHuffmanLength) return false;
    len_[s] = len[s];
    if (len[s] == 0) continue;
    ++count_[len[s]];
    kraft += 1u << (kMaxHuffmanLength - len[s]);
  }
  if (kraft == 0 || kraft > (1u << kMaxHuffmanLength)) return false;
  uint16_t code = 0, idx = 0;
  for (int l = 1; l <= kMaxHuffmanLength; ++l) {
    first_[l] = code;
    offset_[l] = idx;
    for (int s = 0; s < nsym; ++s) {
      if (len_[s] == l) code_[s] = code++, sorted_[idx++] = static_cast<uint8_t>(s);
    }
    code = static_cast<uint16_t>(code << 1);
  }
  for (int s = 0; s < nsym; ++s) {
    uint16_t r = 0;
    for (int b = 0; b < len_[s]; ++b) r = static_cast<uint16_t>(r | ((code_[s] >> b & 1) << (len_[s] - 1 - b)));
    reversed_[s] = r;
  }
  return true;
}

bool HuffmanCode::Get(BitReader* r, int* sym) const {
  uint32_t code = 0;
  for (int l = 1; l <= kMaxHuffmanLength; ++l) {
    uint64_t bit = 0;
    if (!r->Get(1, &bit)) return false;
    code = (code << 1) | static_cast<uint32_t>(bit);
    if (code - first_[l] < count_[l] && code >= first_[l]) {
      *sym = sorted_[offset_[l] + (code - first_[l])];
      return true;
    }
  }
  return false;
}

}  // namespace tern::codec
