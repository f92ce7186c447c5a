// A Conn wrapper that injects faults into the bytes it writes, for tests of
// how collectives fail (STYLE.md, "fault tests"). Offsets count the bytes
// written through the wrapper since it was created.
//
//   FaultSpec f;
//   f.close_after_bytes = 1 << 20;  // a peer that dies mid-transfer
//   conn = WithFaults(std::move(conn), f);
//
// Thread-compatible, like the wrapped Conn.
#ifndef TERN_NET_FAULTY_H_
#define TERN_NET_FAULTY_H_

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>

#include "net/conn.h"

namespace tern::net {

struct FaultSpec {
  static constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
  // Bytes from this offset on are reported written but silently discarded:
  // the reader starves (its deadline fires).
  uint64_t drop_after_bytes = kNever;
  // Every WriteSome first sleeps this long: a slow link.
  std::chrono::milliseconds write_delay{0};
  // The byte at this offset is sent with one bit flipped: the reader sees a
  // checksum mismatch (kDataLoss).
  uint64_t corrupt_at_byte = kNever;
  // After this many bytes the connection is closed: both ends see
  // kUnavailable, as when a process dies.
  uint64_t close_after_bytes = kNever;
};

std::unique_ptr<Conn> WithFaults(std::unique_ptr<Conn> inner, FaultSpec spec);

}  // namespace tern::net

#endif  // TERN_NET_FAULTY_H_
