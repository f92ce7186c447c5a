// Strategy replicated metadata (src/algo/metadata.h) arrives from peers at
// every safe point: the decoder must refuse malformed bytes with a status,
// never crash or allocate by an unchecked count, and what it accepts must
// re-encode to the same bytes, with a step that cannot wrap. The ZO byte
// decoder must map every byte to a finite float.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "algo/metadata.h"
#include "algo/zo.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  tern::Result<tern::algo::Metadata> m = tern::algo::DecodeMetadata(bytes);
  if (m.ok()) {
    if (tern::algo::EncodeMetadata(*m) != bytes) std::abort();
    // Strategies compute step + 1 and outer-step counts from it: an
    // accepted step must leave room (a wrap to 0 would reach a CHECK).
    if (m->step >= tern::algo::kMaxStep) std::abort();
  } else if (m.status().code() != tern::StatusCode::kDataLoss) {
    std::abort();
  }
  if (size > 0 && !std::isfinite(tern::algo::DecodeZoByte(data[0], 1.0f))) std::abort();
  return 0;
}
