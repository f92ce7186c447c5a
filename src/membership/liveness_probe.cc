#include "membership/liveness_probe.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "net/socket.h"

namespace tern::membership {
namespace {

ProbeOutcome FromErrno(int err) {
  if (err == 0) return ProbeOutcome::kListening;
  return err == ECONNREFUSED ? ProbeOutcome::kRefused : ProbeOutcome::kUnknown;
}

}  // namespace

ProbeOutcome ProbeListener(const std::string& address, Deadline deadline) {
  Result<net::SocketAddress> addr = net::ParseAddress(address);
  if (!addr.ok()) return ProbeOutcome::kUnknown;
  net::Fd fd(::socket(addr->family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return ProbeOutcome::kUnknown;
  if (::connect(fd.get(), addr->get(), addr->length) == 0) return ProbeOutcome::kListening;
  if (errno != EINPROGRESS) return FromErrno(errno);
  for (;;) {
    pollfd p{fd.get(), POLLOUT, 0};
    const int rc = ::poll(&p, 1, deadline.RemainingMillisForPoll());
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return ProbeOutcome::kUnknown;
    int err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) return ProbeOutcome::kUnknown;
    return FromErrno(err);
  }
}

}  // namespace tern::membership
