// The combined hash of a shared state: xxh3-64 over every entry's name, a
// zero byte and its 8-byte little-endian xxh3, in name order. The master
// and every peer compute it the same way (SyncReport::state_hash).
#ifndef TERN_MEMBERSHIP_STATE_HASH_H_
#define TERN_MEMBERSHIP_STATE_HASH_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "util/bytes.h"
#include "util/hash.h"

namespace tern::membership {

// REQUIRES: `entries` sorted by name.
inline uint64_t CombineEntryHashes(const std::vector<std::pair<std::string, uint64_t>>& entries) {
  Xxh3Hasher h;
  for (const auto& [name, hash] : entries) {
    uint8_t b[9] = {0};
    StoreLE64(b + 1, hash);
    h.Update(name.data(), name.size());
    h.Update(b, sizeof(b));
  }
  return h.Digest();
}

}  // namespace tern::membership

#endif  // TERN_MEMBERSHIP_STATE_HASH_H_
