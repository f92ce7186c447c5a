// xxh3-64 content hashes (libxxhash), used for shared-state parity
// (DESIGN.md semantic 4). Not cryptographic. Thread-safe.
#ifndef TERN_UTIL_HASH_H_
#define TERN_UTIL_HASH_H_

#include <cstddef>
#include <cstdint>
#include <memory>

namespace tern {

uint64_t Xxh3(const void* data, size_t n, uint64_t seed = 0);

// Incremental xxh3-64: Update() over pieces equals Xxh3() of their concatenation.
class Xxh3Hasher {
 public:
  explicit Xxh3Hasher(uint64_t seed = 0);
  ~Xxh3Hasher();
  Xxh3Hasher(const Xxh3Hasher&) = delete;
  Xxh3Hasher& operator=(const Xxh3Hasher&) = delete;
  void Update(const void* data, size_t n);
  uint64_t Digest() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace tern

#endif  // TERN_UTIL_HASH_H_
