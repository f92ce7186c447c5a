// FramedConn: frames (wire/frame.h) over a non-blocking Conn, for event
// loops that serve many connections from one thread (the master, the peer's
// control client). Reads and writes never block: Pump() moves what the
// socket takes now; complete frames come out of TakeFrame().
//
// Incoming frames are bounded by `max_frame` before anything is buffered,
// and the payload buffer grows only as bytes arrive, so a hostile length
// prefix costs nothing (DESIGN.md semantic 7). Outgoing frames queue in
// memory; callers bound the queue with queued_bytes().
//
// Thread-compatible: one thread drives a FramedConn; Close() may be called
// from any thread (it closes the underlying Conn).
#ifndef TERN_MEMBERSHIP_FRAMED_CONN_H_
#define TERN_MEMBERSHIP_FRAMED_CONN_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/blocking.h"
#include "net/conn.h"
#include "tern/status.h"

namespace tern::membership {

class FramedConn {
 public:
  FramedConn(std::unique_ptr<net::Conn> conn, uint32_t max_frame);

  // Queues one checksummed frame.
  void Queue(uint16_t type, std::string_view payload);

  // Writes queued bytes and reads available ones, as far as possible now.
  // kUnavailable when the connection closed; kDataLoss on a malformed
  // frame (bad length, flags or checksum). After an error the connection
  // is unusable.
  Status Pump();

  // Writes queued bytes only (never reads, so no frame can arrive unseen).
  Status Flush() { return WriteAvailable(); }

  // The next complete incoming frame, if any.
  std::optional<net::Frame> TakeFrame();

  bool WantsWrite() const { return !out_.empty(); }
  size_t queued_bytes() const { return out_.size(); }
  net::PollSpec Poll() const { return conn_->Poll(true, WantsWrite()); }
  void Close() { conn_->Close(); }
  const std::string& peer() const { return conn_->peer(); }

 private:
  Status ReadAvailable();
  Status WriteAvailable();
  Status ParseBuffered();

  std::unique_ptr<net::Conn> conn_;
  const uint32_t max_frame_;
  std::string out_;
  std::string in_;  // unparsed bytes (at most one frame's worth plus a read)
  std::deque<net::Frame> frames_;
};

}  // namespace tern::membership

#endif  // TERN_MEMBERSHIP_FRAMED_CONN_H_
