// Socket helpers: address parsing, errno-carrying errors, owned descriptors.
//
// Errors from the network name the syscall, errno and peer address (STYLE.md,
// "Errors"): "connect 10.0.0.2:4000: Connection refused (errno 111)". Codes:
// a refused, reset or closed connection is kUnavailable; running out of
// descriptors or memory is kResourceExhausted.
//
// Thread-safe: pure functions; a Fd is thread-compatible.
#ifndef TERN_NET_SOCKET_H_
#define TERN_NET_SOCKET_H_

#include <sys/socket.h>

#include <string>
#include <string_view>

#include "tern/status.h"

namespace tern::net {

// Status for a failed syscall: `syscall peer: strerror (errno N)`.
Status SysError(std::string_view syscall, int err, std::string_view peer);

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
};

// "host:port" or "[v6]:port"; host may be a name (resolved with
// getaddrinfo, first result). kInvalidArgument on a malformed address,
// kUnavailable if the name does not resolve.
Result<SocketAddress> ParseAddress(std::string_view host_port);
// "1.2.3.4:80" / "[::1]:80".
std::string FormatAddress(const SocketAddress& a);
// The local address a socket is bound to.
Result<SocketAddress> LocalAddress(int fd);

// An owned file descriptor, closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(Fd&& o) noexcept : fd_(o.Release()) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = o.Release();
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void Reset();

 private:
  int fd_ = -1;
};

// Socket options every tern TCP socket gets: O_NONBLOCK, TCP_NODELAY
// (small frames must not wait for delayed ACKs), SO_KEEPALIVE.
Status ConfigureStreamSocket(int fd, std::string_view peer);

}  // namespace tern::net

#endif  // TERN_NET_SOCKET_H_
