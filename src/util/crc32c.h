// CRC-32C (Castagnoli), the checksum of wire frames and codec blobs.
//
// Uses the SSE4.2 crc32 instruction when the CPU has it and a table-driven
// fallback otherwise; both give the same value (tested). Thread-safe.
#ifndef TERN_UTIL_CRC32C_H_
#define TERN_UTIL_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace tern {

// Extends `crc` (the value of a previous call, or 0 to start) with `n` bytes.
uint32_t Crc32c(const void* data, size_t n, uint32_t crc = 0);

namespace internal {
uint32_t Crc32cPortable(const void* data, size_t n, uint32_t crc);
uint32_t Crc32cHardware(const void* data, size_t n, uint32_t crc);
bool Crc32cHardwareAvailable();
}  // namespace internal

}  // namespace tern

#endif  // TERN_UTIL_CRC32C_H_
