// Linkem: a userspace TCP proxy that emulates a wide-area link, for WAN
// rehearsal on a kernel without netem (`tern linkem`, bench/wan.sh).
//
// Every connection accepted on `listen` is forwarded to `to`. Each direction
// of the emulated link is one shared serial line: bytes leave at most at
// `rate_mbit` (over all connections together) and arrive `delay_ms` after
// they left. At most `queue_bytes` wait in each direction; beyond that the
// proxy stops reading, so TCP's flow control pushes back on the senders.
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
  size_t queue_bytes = 0;  // per direction; 0 = 2 * rate * delay, at least 4 MiB
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
  LinkemStats stats() const;
  // Closes every connection and joins the thread. Idempotent.
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
