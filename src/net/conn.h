// Conn: one non-blocking, ordered, reliable byte stream (a TCP socket, an
// in-memory fake, or a wrapper that injects faults). Everything above it
// (handshakes, framed messages, the collective engine) is written against
// this interface, so tests swap the transport without touching the logic.
//
// The I/O calls never block: they move what they can and return 0 when
// nothing can move now; callers wait with poll(2) on Poll()'s descriptor.
// For a TCP socket that is the socket itself; a fake exposes an eventfd
// that is signalled whenever its state changes.
//
// Thread-compatible: one thread at a time per Conn, except Close(), which
// any thread may call to make a blocked owner's next I/O fail.
#ifndef TERN_NET_CONN_H_
#define TERN_NET_CONN_H_

#include <sys/uio.h>

#include <cstddef>
#include <memory>
#include <string>

#include "tern/status.h"

namespace tern::net {

struct PollSpec {
  int fd = -1;
  short events = 0;  // POLLIN / POLLOUT to wait for
};

class Conn {
 public:
  virtual ~Conn() = default;

  // Reads up to n bytes into buf. Returns the count (> 0 when n > 0), or 0
  // if no byte is available now. kUnavailable when the peer closed or reset
  // the stream, or after Close(); the message names the syscall, errno and
  // peer address.
  virtual Result<size_t> ReadSome(void* buf, size_t n) = 0;

  // Writes a prefix of the gathered buffers; returns its length, 0 if the
  // stream cannot take a byte now. kUnavailable as ReadSome.
  virtual Result<size_t> WriteSome(const struct iovec* iov, int iovcnt) = 0;

  // What to poll(2) until ReadSome (want_read) or WriteSome (want_write)
  // may make progress. Wake-ups may be spurious.
  virtual PollSpec Poll(bool want_read, bool want_write) const = 0;

  // Closes both directions: the peer sees end-of-stream; our pending and
  // future calls fail with kUnavailable. Idempotent; thread-safe.
  virtual void Close() = 0;

  // "127.0.0.1:4000" or a fake's name, for messages.
  virtual const std::string& peer() const = 0;
};

}  // namespace tern::net

#endif  // TERN_NET_CONN_H_
