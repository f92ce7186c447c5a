#include "wire/frame.h"

#include <string>

#include "util/bytes.h"
#include "util/crc32c.h"

namespace tern::wire {

uint32_t FrameCrc(const uint8_t* header, std::span<const uint8_t> a, std::span<const uint8_t> b) {
  uint32_t crc = Crc32c(header, 8);
  if (!a.empty()) crc = Crc32c(a.data(), a.size(), crc);
  if (!b.empty()) crc = Crc32c(b.data(), b.size(), crc);
  return crc;
}

void EncodeFrameHeaderPrefix(uint16_t type, bool checksum, uint32_t length, uint8_t* out) {
  const uint16_t flags = checksum ? 0 : kFlagNoChecksum;
  StoreLE32(out, length);
  out[4] = static_cast<uint8_t>(type);
  out[5] = static_cast<uint8_t>(type >> 8);
  out[6] = static_cast<uint8_t>(flags);
  out[7] = static_cast<uint8_t>(flags >> 8);
  StoreLE32(out + 8, 0);
}

uint32_t FrameCrcSeed(const uint8_t* header, std::span<const uint8_t> a) {
  return FrameCrc(header, a);
}

void SetFrameCrc(uint8_t* header, uint32_t crc) { StoreLE32(header + 8, crc); }

void EncodeFrameHeader(uint16_t type, bool checksum, std::span<const uint8_t> a,
                       std::span<const uint8_t> b, uint8_t* out) {
  EncodeFrameHeaderPrefix(type, checksum, static_cast<uint32_t>(a.size() + b.size()), out);
  if (checksum) SetFrameCrc(out, FrameCrc(out, a, b));
}

Result<FrameHeader> DecodeFrameHeader(const uint8_t* in, uint32_t max_length) {
  FrameHeader h;
  h.length = LoadLE32(in);
  h.type = static_cast<uint16_t>(in[4] | (in[5] << 8));
  h.flags = static_cast<uint16_t>(in[6] | (in[7] << 8));
  h.crc = LoadLE32(in + 8);
  if (h.length > max_length) {
    return DataLossError("frame length " + std::to_string(h.length) + " exceeds the bound " +
                         std::to_string(max_length));
  }
  if ((h.flags & ~kKnownFlags) != 0) {
    return DataLossError("frame has unknown flags " + std::to_string(h.flags));
  }
  if ((h.flags & kFlagNoChecksum) && h.crc != 0) {
    return DataLossError("frame without checksum has a nonzero crc field");
  }
  return h;
}

Status VerifyFrame(const uint8_t* header_bytes, const FrameHeader& header,
                   std::span<const uint8_t> a, std::span<const uint8_t> b,
                   bool require_checksum) {
  const bool unchecked = header.flags & kFlagNoChecksum;
  return VerifyFrameCrc(header, unchecked ? 0 : FrameCrc(header_bytes, a, b), require_checksum);
}

Status VerifyFrameCrc(const FrameHeader& header, uint32_t crc, bool require_checksum) {
  if (header.flags & kFlagNoChecksum) {
    if (require_checksum) return DataLossError("frame without checksum on a checksummed stream");
    return OkStatus();
  }
  if (crc != header.crc) {
    return DataLossError("frame checksum mismatch (type " + std::to_string(header.type) +
                         ", length " + std::to_string(header.length) + ")");
  }
  return OkStatus();
}

}  // namespace tern::wire
