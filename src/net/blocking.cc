#include "net/blocking.h"

#include <poll.h>

#include <cerrno>

#include "net/socket.h"

namespace tern::net {

Status WaitReady(const Conn& conn, bool want_read, bool want_write, Deadline deadline) {
  const PollSpec spec = conn.Poll(want_read, want_write);
  for (;;) {
    pollfd p{spec.fd, spec.events, 0};
    const int rc = ::poll(&p, 1, deadline.RemainingMillisForPoll());
    if (rc > 0) return OkStatus();
    if (rc == 0) return DeadlineExceededError("waiting for " + conn.peer() + ": deadline passed");
    if (errno != EINTR) return SysError("poll", errno, conn.peer());
  }
}

Status WriteAll(Conn& conn, std::span<const uint8_t> data, Deadline deadline) {
  size_t done = 0;
  while (done < data.size()) {
    iovec iov{const_cast<uint8_t*>(data.data() + done), data.size() - done};
    TERN_ASSIGN_OR_RETURN(size_t n, conn.WriteSome(&iov, 1));
    done += n;
    if (n == 0) TERN_RETURN_IF_ERROR(WaitReady(conn, false, true, deadline));
  }
  return OkStatus();
}

Status ReadExact(Conn& conn, std::span<uint8_t> data, Deadline deadline) {
  size_t done = 0;
  while (done < data.size()) {
    TERN_ASSIGN_OR_RETURN(size_t n, conn.ReadSome(data.data() + done, data.size() - done));
    done += n;
    if (n == 0) TERN_RETURN_IF_ERROR(WaitReady(conn, true, false, deadline));
  }
  return OkStatus();
}

Status SendFrame(Conn& conn, uint16_t type, std::string_view payload, Deadline deadline) {
  std::string buf(wire::kFrameHeaderSize, '\0');
  buf.append(payload);
  auto* p = reinterpret_cast<uint8_t*>(buf.data());
  wire::EncodeFrameHeader(type, true, {p + wire::kFrameHeaderSize, payload.size()}, {}, p);
  return WriteAll(conn, {p, buf.size()}, deadline);
}

Result<Frame> RecvFrame(Conn& conn, uint32_t max_length, Deadline deadline) {
  uint8_t h[wire::kFrameHeaderSize];
  TERN_RETURN_IF_ERROR(ReadExact(conn, h, deadline));
  TERN_ASSIGN_OR_RETURN(wire::FrameHeader header, wire::DecodeFrameHeader(h, max_length));
  Frame f;
  f.type = header.type;
  f.payload.resize(header.length);
  auto* p = reinterpret_cast<uint8_t*>(f.payload.data());
  TERN_RETURN_IF_ERROR(ReadExact(conn, {p, f.payload.size()}, deadline));
  TERN_RETURN_IF_ERROR(
      wire::VerifyFrame(h, header, {p, f.payload.size()}, {}, /*require_checksum=*/true));
  return f;
}

}  // namespace tern::net
