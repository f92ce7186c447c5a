// Linkem: a userspace TCP proxy that emulates a wide-area link, for WAN
// rehearsal on a kernel without netem (`tern linkem`, bench/wan.sh).
//
// Every connection accepted on `listen` is forwarded to `to`. Each direction
// of the emulated link is one shared serial line: bytes leave at most at
// `rate_mbit` (over all connections together) and arrive `delay_ms` after
// they left. Each connection holds at most `queue_bytes` in each direction
// (its receiver's window), and at most `queue_bytes` of all connections
// together wait for the rate cap (the link's buffer); beyond either the
// proxy stops reading that connection, so TCP's flow control pushes back on
// its sender, not on the others.
//
// The two directions of a connection close independently, as TCP's do: a
// side that closes (or resets) still has its bytes in flight delivered,
// then the other side sees end-of-stream; a side that can no longer receive
// loses only what was in flight to it.
//
// Limits: the proxy terminates TCP on both sides, so it shows what latency
// and bandwidth do to an algorithm, not what they do to TCP's congestion
// window; it cannot drop or reorder packets (no loss emulation).
//
// Thread-safety: Start/Stop from one thread; stats() from any.
#ifndef TERN_NET_LINKEM_H_
#define TERN_NET_LINKEM_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "net/socket.h"
#include "tern/status.h"

namespace tern::net {

struct LinkemOptions {
  std::string listen;      // "host:port" to accept on (port 0 picks one)
  std::string to;          // "host:port" to forward to
  double delay_ms = 0;     // one-way delay added in each direction
  double rate_mbit = 0;    // cap per direction in Mbit/s; 0 = unlimited
  size_t queue_bytes = 0;  // see above; 0 = 2 * rate * delay, at least 4 MiB
};

struct LinkemStats {
  uint64_t connections = 0;
  uint64_t bytes_forward = 0;  // listen side -> `to`
  uint64_t bytes_reverse = 0;  // `to` -> listen side
};

class Linkem {
 public:
  // Binds `listen` and starts the forwarding thread. kInvalidArgument for
  // bad options, kUnavailable if binding fails.
  static Result<std::unique_ptr<Linkem>> Start(const LinkemOptions& options);
  ~Linkem();  // Stop()

  const std::string& address() const { return address_; }  // bound listen address
  // Counters are updated right after each write, so they may trail what a
  // peer already read by a moment.
  LinkemStats stats() const;
  // Stops accepting and reading, delivers the bytes already in flight (for
  // at most their delay plus 100 ms, 5 s in all), closes every connection
  // and joins the thread. Blocks. Idempotent.
  void Stop();

  struct Loop;

 private:
  Linkem() = default;
  std::string address_;
  Fd wake_;  // eventfd that stops the loop
  std::unique_ptr<Loop> loop_;
  std::thread thread_;
};

}  // namespace tern::net

#endif  // TERN_NET_LINKEM_H_
