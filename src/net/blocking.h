// Blocking I/O over a non-blocking Conn, bounded by a Deadline, and framed
// messages (wire/frame.h) built on it. Used by handshakes, aborts and the
// control plane; the collective engine drives Conns itself.
//
//   TERN_RETURN_IF_ERROR(SendFrame(conn, wire::FrameType::kHello, payload, deadline));
//   TERN_ASSIGN_OR_RETURN(Frame f, RecvFrame(conn, wire::kMaxControlFrame, deadline));
//
// Thread-compatible (one thread per Conn).
#ifndef TERN_NET_BLOCKING_H_
#define TERN_NET_BLOCKING_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "net/conn.h"
#include "tern/status.h"
#include "util/clock.h"
#include "wire/frame.h"

namespace tern::net {

// Waits until `conn` may read and/or write. kDeadlineExceeded when the
// deadline passes first.
Status WaitReady(const Conn& conn, bool want_read, bool want_write, Deadline deadline);

// Writes / reads exactly the given bytes. kUnavailable if the stream
// closes, kDeadlineExceeded if the deadline passes first (then part of the
// bytes may have moved: the stream is unusable).
Status WriteAll(Conn& conn, std::span<const uint8_t> data, Deadline deadline);
Status ReadExact(Conn& conn, std::span<uint8_t> data, Deadline deadline);

struct Frame {
  uint16_t type = 0;
  std::string payload;
};

// Sends one checksummed frame.
Status SendFrame(Conn& conn, uint16_t type, std::string_view payload, Deadline deadline);
inline Status SendFrame(Conn& conn, wire::FrameType type, std::string_view payload,
                        Deadline deadline) {
  return SendFrame(conn, static_cast<uint16_t>(type), payload, deadline);
}
// Receives one frame whose payload is at most max_length bytes (checked
// before allocating) and verifies its checksum (frames without one are
// refused). kDataLoss on a bad frame.
Result<Frame> RecvFrame(Conn& conn, uint32_t max_length, Deadline deadline);

}  // namespace tern::net

#endif  // TERN_NET_BLOCKING_H_
