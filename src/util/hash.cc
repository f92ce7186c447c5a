#include "util/hash.h"

#include <xxhash.h>

#include "util/check.h"

namespace tern {

uint64_t Xxh3(const void* data, size_t n, uint64_t seed) {
  return XXH3_64bits_withSeed(data, n, seed);
}

struct Xxh3Hasher::State {
  XXH3_state_t* s = XXH3_createState();
  ~State() { XXH3_freeState(s); }
};

Xxh3Hasher::Xxh3Hasher(uint64_t seed) : state_(std::make_unique<State>()) {
  TERN_CHECK(state_->s != nullptr);
  XXH3_64bits_reset_withSeed(state_->s, seed);
}
Xxh3Hasher::~Xxh3Hasher() = default;
void Xxh3Hasher::Update(const void* data, size_t n) { XXH3_64bits_update(state_->s, data, n); }
uint64_t Xxh3Hasher::Digest() const { return XXH3_64bits_digest(state_->s); }

}  // namespace tern
