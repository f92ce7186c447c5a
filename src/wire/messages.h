// The data plane's messages (docs/wire_format.md): the handshake (Hello,
// HelloAck), Abort, and the DataHeader that opens every data frame.
//
// Encoders append little-endian fields to a std::string; decoders read
// untrusted bytes, bound every length before use and return kDataLoss on
// truncated, oversized or trailing input (DESIGN.md semantic 7).
//
// Thread-safe: pure functions.
#ifndef TERN_WIRE_MESSAGES_H_
#define TERN_WIRE_MESSAGES_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "tern/status.h"

namespace tern::wire {

inline constexpr uint32_t kMagic = 0x4E524554;  // "TERN" in wire order
inline constexpr uint16_t kProtocolVersion = 1;
inline constexpr size_t kMaxAuthBytes = 4096;
inline constexpr size_t kMaxMessageBytes = 1024;
// Bound for handshake and abort frames.
inline constexpr uint32_t kMaxControlFrame = 16384;

// Hello.flags
inline constexpr uint32_t kHelloChecksums = 1;

// Which service a connection is for; the listener routes by it.
enum class Channel : uint16_t { kCollective = 0 };  // control plane: 1..

struct Hello {
  uint16_t version = kProtocolVersion;
  uint16_t channel = 0;
  uint64_t run_id = 0;
  uint64_t revision = 0;
  uint64_t from_peer = 0;
  uint64_t to_peer = 0;
  uint16_t stream = 0;        // 0: control stream, 1..stream_count: data
  uint16_t stream_count = 0;  // data streams of the link
  uint32_t flags = 0;
  std::string auth;  // the authenticator's opening message (<= kMaxAuthBytes)
};

// Values are part of the protocol: never renumber.
enum class HelloResult : uint16_t {
  kAccepted = 0,
  kWrongRun = 1,
  kRevisionMismatch = 2,  // dialer should retry (the listener is behind/ahead)
  kUnknownPeer = 3,
  kBadStream = 4,
  kOptionMismatch = 5,    // checksums or stream counts differ
  kAuthFailed = 6,
  kVersionMismatch = 7,
};
std::string_view HelloResultName(HelloResult r);

struct HelloAck {
  uint16_t version = kProtocolVersion;
  HelloResult result = HelloResult::kAccepted;
  uint64_t revision = 0;  // the listener's
  uint64_t peer_id = 0;   // the listener's
  std::string auth;       // <= kMaxAuthBytes
  std::string message;    // why not accepted, <= kMaxMessageBytes
};

struct Abort {
  uint16_t code = 0;     // tern::StatusCode of the failure
  uint64_t culprit = 0;  // stable peer id blamed, 0 if unknown
  std::string message;   // <= kMaxMessageBytes (longer ones are cut)
};

void EncodeHello(const Hello& m, std::string* out);
Result<Hello> DecodeHello(std::span<const uint8_t> in);
void EncodeHelloAck(const HelloAck& m, std::string* out);
Result<HelloAck> DecodeHelloAck(std::span<const uint8_t> in);
void EncodeAbort(const Abort& m, std::string* out);
Result<Abort> DecodeAbort(std::span<const uint8_t> in);

// Opens every data frame's payload; the data follows.
//   0 u64 seq        operation sequence number (per communicator, or per
//                    pair of ranks for point-to-point)
//   8 u32 signature  hash of the operation's kind and arguments
//  12 u8  phase      algorithm-defined (e.g. reduce-scatter, all-gather)
//  13 u8  reserved   0
//  14 u16 step
//  16 u32 chunk
//  20 u32 reserved   0
inline constexpr size_t kDataHeaderSize = 24;
struct DataHeader {
  uint64_t seq = 0;
  uint32_t signature = 0;
  uint8_t phase = 0;
  uint16_t step = 0;
  uint32_t chunk = 0;
};
void EncodeDataHeader(const DataHeader& h, uint8_t* out);
// kDataLoss if reserved bytes are not zero.
Result<DataHeader> DecodeDataHeader(const uint8_t* in);

}  // namespace tern::wire

#endif  // TERN_WIRE_MESSAGES_H_
