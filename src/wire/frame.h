// Frames: the unit of every byte stream tern opens (docs/wire_format.md).
//
//   offset 0  u32 length   payload bytes that follow the 12-byte header
//          4  u16 type     FrameType; >= 256 belong to the control plane
//          6  u16 flags    bit 0: no checksum (crc field is 0)
//          8  u32 crc32c   over header bytes 0..7, then the payload
//
// Little-endian, written byte by byte. A reader bounds `length` by the
// maximum it expects on that stream *before* allocating or reading the
// payload (DESIGN.md semantic 7). Data frames start their payload with a
// DataHeader (wire/messages.h) so a receiver can place the data before it
// arrives.
//
// Thread-safe: pure functions.
#ifndef TERN_WIRE_FRAME_H_
#define TERN_WIRE_FRAME_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "tern/status.h"

namespace tern::wire {

inline constexpr size_t kFrameHeaderSize = 12;
inline constexpr uint16_t kFlagNoChecksum = 1;
inline constexpr uint16_t kKnownFlags = kFlagNoChecksum;

// Values are part of the protocol: never renumber.
enum class FrameType : uint16_t {
  kHello = 1,     // dialer -> listener, first frame of a connection
  kHelloAck = 2,  // listener -> dialer
  kAuth = 3,      // authenticator messages between Hello and HelloAck
  kAbort = 4,     // "this operation failed": code, culprit, message
  kData = 16,     // collective payload: DataHeader + bytes
};
// Types in [kFirstControlPlaneType, 65535] are free for the control plane.
inline constexpr uint16_t kFirstControlPlaneType = 256;

struct FrameHeader {
  uint32_t length = 0;
  uint16_t type = 0;
  uint16_t flags = 0;
  uint32_t crc = 0;
};

// The checksum of a frame whose payload is the concatenation of `a` and `b`.
// `header` holds at least the first 8 header bytes (length, type, flags).
uint32_t FrameCrc(const uint8_t* header, std::span<const uint8_t> a,
                  std::span<const uint8_t> b = {});

// Writes the 12 header bytes of a frame with payload a ++ b. With
// `checksum` false the no-checksum flag is set and the crc field is 0.
void EncodeFrameHeader(uint16_t type, bool checksum, std::span<const uint8_t> a,
                       std::span<const uint8_t> b, uint8_t* out);

// Incremental checksums, for payloads checksummed while they are hot in
// cache (as they arrive, or fused with the reduction that produced them)
// rather than in a separate pass:
//   EncodeFrameHeaderPrefix(type, checksum, length, hdr);   // bytes 0..7
//   uint32_t crc = FrameCrcSeed(hdr, first_part);
//   crc = Crc32c(rest, n, crc);  // util/crc32c.h, in any number of pieces
//   SetFrameCrc(hdr, crc);       // sender; a receiver compares with VerifyFrameCrc
// Writes header bytes 0..7 and a zero crc field.
void EncodeFrameHeaderPrefix(uint16_t type, bool checksum, uint32_t length, uint8_t* out);
// The crc32c of header bytes 0..7 followed by `a` (the payload's start).
uint32_t FrameCrcSeed(const uint8_t* header, std::span<const uint8_t> a);
void SetFrameCrc(uint8_t* header, uint32_t crc);

// Parses 12 header bytes. kDataLoss if length > max_length or unknown flags
// are set. The crc is checked later by VerifyFrame, once the payload is in.
Result<FrameHeader> DecodeFrameHeader(const uint8_t* in, uint32_t max_length);

// kDataLoss if the crc does not match, or if the frame carries no checksum
// while `require_checksum` is set.
Status VerifyFrame(const uint8_t* header_bytes, const FrameHeader& header,
                   std::span<const uint8_t> a, std::span<const uint8_t> b,
                   bool require_checksum);
// The same check for a checksum computed incrementally (`computed` is
// FrameCrcSeed extended over the whole payload; ignored for a frame that
// carries no checksum).
Status VerifyFrameCrc(const FrameHeader& header, uint32_t computed, bool require_checksum);

}  // namespace tern::wire

#endif  // TERN_WIRE_FRAME_H_
