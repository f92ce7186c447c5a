// The replicated metadata of a strategy (docs/strategies.md, "Replicated
// metadata"): which configuration, how many inner steps the run completed,
// and which peers were members at the last safe point. Encoded as
//
//   u32 magic "TSMD" | u8 version (1) | u8 strategy index | u64 config hash
//   | u64 step | u32 member count (<= kMaxMembers) | count x u64 peer id
//
// little-endian, member ids strictly ascending, nothing after them. The
// bytes arrive from peers: DecodeMetadata checks every field and length
// before it allocates. Thread-safe (pure functions).
#ifndef TERN_ALGO_METADATA_H_
#define TERN_ALGO_METADATA_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tern/status.h"

namespace tern::algo {

inline constexpr uint32_t kMaxMembers = 1u << 20;
// Steps at or above this are refused: a run never gets near it, and the
// strategies compute step + 1 and outer-step counts from it, which must not
// wrap (a wrapped count of 0 would reach outer Adam's t >= 1 check).
inline constexpr uint64_t kMaxStep = uint64_t{1} << 62;

struct Metadata {
  uint8_t strategy = 0;      // index in StrategyConfig
  uint64_t config_hash = 0;  // Xxh3 of CanonicalConfig
  uint64_t step = 0;
  std::vector<uint64_t> members;  // ascending
};

std::string EncodeMetadata(const Metadata& m);
// kDataLoss: wrong magic or version, truncated, trailing bytes, a step >=
// kMaxStep, too many members, members not strictly ascending.
Result<Metadata> DecodeMetadata(std::string_view bytes);

}  // namespace tern::algo

#endif  // TERN_ALGO_METADATA_H_
