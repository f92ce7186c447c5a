// An in-memory transport for unit tests: two connected Conns exchanging
// bytes through bounded buffers, no sockets, no ports.
//
// Small capacities force the partial reads and writes that real sockets
// produce under load, so code driving Conns is tested on them too.
// Readiness is level-triggered like a socket's: each end exposes an eventfd
// that is readable exactly while the I/O the last Poll() asked for could
// progress.
//
//   auto [a, b] = FakeConnPair(/*capacity=*/64, "a", "b");
//
// Thread-safety: the two ends may be used from different threads.
#ifndef TERN_NET_FAKE_H_
#define TERN_NET_FAKE_H_

#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "net/conn.h"

namespace tern::net {

// `capacity` bytes may be in flight in each direction (>= 1). The names
// appear in error messages (each end's peer() is the other's name).
std::pair<std::unique_ptr<Conn>, std::unique_ptr<Conn>> FakeConnPair(size_t capacity,
                                                                     std::string name_a,
                                                                     std::string name_b);

}  // namespace tern::net

#endif  // TERN_NET_FAKE_H_
