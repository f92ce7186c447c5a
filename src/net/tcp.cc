#include "net/tcp.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace tern::net {
namespace {

class TcpConn : public Conn {
 public:
  TcpConn(Fd fd, std::string peer) : fd_(fd.Release()), peer_(std::move(peer)) {}
  ~TcpConn() override {
    const int fd = fd_.exchange(-1);
    if (fd >= 0) ::close(fd);
  }

  Result<size_t> ReadSome(void* buf, size_t n) override {
    const int fd = fd_.load();
    if (closed_.load()) return UnavailableError("recv " + peer_ + ": connection closed locally");
    if (n == 0) return size_t{0};
    for (;;) {
      const ssize_t r = ::recv(fd, buf, n, 0);
      if (r > 0) return static_cast<size_t>(r);
      if (r == 0) return UnavailableError("recv " + peer_ + ": connection closed by peer");
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return size_t{0};
      return SysError("recv", errno, peer_);
    }
  }

  Result<size_t> WriteSome(const struct iovec* iov, int iovcnt) override {
    const int fd = fd_.load();
    if (closed_.load()) return UnavailableError("send " + peer_ + ": connection closed locally");
    msghdr msg{};
    msg.msg_iov = const_cast<struct iovec*>(iov);
    msg.msg_iovlen = static_cast<size_t>(iovcnt);
    for (;;) {
      // MSG_NOSIGNAL: a closed peer is an EPIPE status, never a SIGPIPE.
      const ssize_t w = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w >= 0) return static_cast<size_t>(w);
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return size_t{0};
      return SysError("send", errno, peer_);
    }
  }

  PollSpec Poll(bool want_read, bool want_write) const override {
    return {fd_.load(), static_cast<short>((want_read ? POLLIN : 0) | (want_write ? POLLOUT : 0))};
  }

  void Close() override {
    // shutdown() wakes a thread blocked in poll on this socket; the
    // descriptor itself is closed by the destructor, so it is never reused
    // under a concurrent poll.
    const int fd = fd_.load();
    if (fd >= 0 && !closed_.exchange(true)) ::shutdown(fd, SHUT_RDWR);
  }

  const std::string& peer() const override { return peer_; }

 private:
  std::atomic<int> fd_;
  std::atomic<bool> closed_{false};
  std::string peer_;
};

// Waits for `fd` to become writable (connect finished) until `deadline`.
Status WaitConnected(int fd, const std::string& address, Deadline deadline) {
  for (;;) {
    pollfd p{fd, POLLOUT, 0};
    const int rc = ::poll(&p, 1, deadline.RemainingMillisForPoll());
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return SysError("poll", errno, address);
    if (rc == 0) return DeadlineExceededError("connect " + address + ": deadline passed");
    int err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) return SysError("connect", err, address);
    return OkStatus();
  }
}

}  // namespace

Result<std::unique_ptr<Conn>> AdoptTcpSocket(Fd fd, std::string peer) {
  TERN_RETURN_IF_ERROR(ConfigureStreamSocket(fd.get(), peer));
  return std::unique_ptr<Conn>(new TcpConn(std::move(fd), std::move(peer)));
}

Result<std::unique_ptr<Conn>> TcpConnect(std::string_view address, Deadline deadline) {
  TERN_ASSIGN_OR_RETURN(SocketAddress addr, ParseAddress(address));
  const std::string peer = FormatAddress(addr);
  Fd fd(::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return SysError("socket", errno, peer);
  TERN_RETURN_IF_ERROR(ConfigureStreamSocket(fd.get(), peer));
  if (::connect(fd.get(), addr.get(), addr.length) != 0) {
    if (errno != EINPROGRESS) return SysError("connect", errno, peer);
    TERN_RETURN_IF_ERROR(WaitConnected(fd.get(), peer, deadline));
  }
  return std::unique_ptr<Conn>(new TcpConn(std::move(fd), peer));
}

Result<std::unique_ptr<Listener>> Listener::Bind(std::string_view address) {
  TERN_ASSIGN_OR_RETURN(SocketAddress addr, ParseAddress(address));
  const std::string where = FormatAddress(addr);
  Fd fd(::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return SysError("socket", errno, where);
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd.get(), addr.get(), addr.length) != 0) return SysError("bind", errno, where);
  if (::listen(fd.get(), 1024) != 0) return SysError("listen", errno, where);
  return Adopt(fd.Release());
}

Result<std::unique_ptr<Listener>> Listener::Adopt(int raw) {
  Fd fd(raw);
  int listening = 0;
  socklen_t len = sizeof(listening);
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) {
    return InvalidArgumentError("descriptor " + std::to_string(raw) + " is not a listening socket");
  }
  const int flags = ::fcntl(fd.get(), F_GETFL, 0);
  ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK);
  ::fcntl(fd.get(), F_SETFD, FD_CLOEXEC);
  TERN_ASSIGN_OR_RETURN(SocketAddress local, LocalAddress(fd.get()));
  return std::unique_ptr<Listener>(new Listener(std::move(fd), FormatAddress(local)));
}

Result<std::unique_ptr<Conn>> Listener::Accept(Deadline deadline) {
  for (;;) {
    SocketAddress peer;
    peer.length = sizeof(peer.storage);
    const int fd = ::accept4(fd_.get(), reinterpret_cast<sockaddr*>(&peer.storage), &peer.length,
                             SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) return AdoptTcpSocket(Fd(fd), FormatAddress(peer));
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return SysError("accept", errno, address_);
    pollfd p{fd_.get(), POLLIN, 0};
    const int rc = ::poll(&p, 1, deadline.RemainingMillisForPoll());
    if (rc < 0 && errno != EINTR) return SysError("poll", errno, address_);
    if (rc == 0) return DeadlineExceededError("accept on " + address_ + ": deadline passed");
  }
}

}  // namespace tern::net
