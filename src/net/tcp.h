// TCP: connections and listeners with deadlines.
//
// Every socket is non-blocking with TCP_NODELAY (net/socket.h). Connect and
// Accept take a Deadline and return kDeadlineExceeded when it passes.
//
//   TERN_ASSIGN_OR_RETURN(auto listener, Listener::Bind("127.0.0.1:0"));
//   std::string addr = listener->address();          // "127.0.0.1:41234"
//   TERN_ASSIGN_OR_RETURN(auto conn, TcpConnect(addr, Deadline::AfterMillis(5000)));
//
// Thread-safety: Listener::Accept may be called from one thread at a time;
// address() and fd() from any. Connections: see net/conn.h.
#ifndef TERN_NET_TCP_H_
#define TERN_NET_TCP_H_

#include <memory>
#include <string>
#include <string_view>

#include "net/conn.h"
#include "net/socket.h"
#include "tern/status.h"
#include "util/clock.h"

namespace tern::net {

// Wraps a connected socket (takes ownership; configures it).
Result<std::unique_ptr<Conn>> AdoptTcpSocket(Fd fd, std::string peer);

// Connects to "host:port". kUnavailable if refused or unreachable (callers
// that expect the peer soon retry), kDeadlineExceeded, kInvalidArgument for
// a malformed address.
Result<std::unique_ptr<Conn>> TcpConnect(std::string_view address, Deadline deadline);

class Listener {
 public:
  // Binds and listens on "host:port" (port 0 picks a free port), with
  // SO_REUSEADDR and a large backlog so peers can connect before we accept.
  static Result<std::unique_ptr<Listener>> Bind(std::string_view address);
  // Takes a socket that is already bound and listening (e.g. inherited
  // across fork). kInvalidArgument if it is not a listening socket.
  static Result<std::unique_ptr<Listener>> Adopt(int fd);
  ~Listener() = default;

  // The bound address with the real port: "127.0.0.1:41234".
  const std::string& address() const { return address_; }
  int fd() const { return fd_.get(); }
  // Gives up ownership of the socket (e.g. to hand it to a child process).
  int ReleaseFd() { return fd_.Release(); }

  // Waits for the next connection. kDeadlineExceeded when the deadline
  // passes first.
  Result<std::unique_ptr<Conn>> Accept(Deadline deadline);

 private:
  Listener(Fd fd, std::string address) : fd_(std::move(fd)), address_(std::move(address)) {}
  Fd fd_;
  std::string address_;
};

}  // namespace tern::net

#endif  // TERN_NET_TCP_H_
