// Smoke target for the fuzz build itself: crc32c's hardware and portable
// paths must agree on every input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "util/crc32c.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (tern::internal::Crc32cPortable(data, size, 0) !=
      tern::internal::Crc32cHardware(data, size, 0)) {
    std::abort();
  }
  return 0;
}
