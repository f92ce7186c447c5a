// Moving shared-state entries between peers on the state channel
// (docs/membership_protocol.md, "Shared-state sync", step 3).
//
//   receiver -> donor  FetchRequest{round, names}
//   donor -> receiver  per name: FetchHeader{name, nbytes, hash, code}
//                      then ceil(nbytes / chunk) FetchData frames
//
// The receiver bounds everything it reads by what the master's plan said
// (name, size, hash) and installs an entry only after its xxh3 matches.
//
// Thread-safe: pure functions over the connections they are given.
#ifndef TERN_MEMBERSHIP_STATE_TRANSFER_H_
#define TERN_MEMBERSHIP_STATE_TRANSFER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "membership/proto/control.pb.h"
#include "membership/proto/state.pb.h"
#include "net/conn.h"
#include "net/handshake.h"
#include "tern/status.h"
#include "util/clock.h"

namespace tern::membership {

// Donor side. `lookup(name, &bytes)` returns the entry's current bytes or
// kNotFound. Adds every byte written to *bytes_sent.
using LookupFn = std::function<Status(const std::string& name, std::string_view* bytes)>;
Status ServeFetch(net::Conn& conn, const proto::FetchRequest& request, const LookupFn& lookup,
                  size_t chunk_bytes, uint64_t* bytes_sent, Deadline deadline);

// Receiver side: fetches `fetches` (all from one donor) and hands each
// verified entry to `install(fetch, bytes)`. `max_bytes(fetch)` bounds an
// entry before its buffer is allocated. Adds every byte read to
// *bytes_received. Errors: those of the connection (kUnavailable,
// kDeadlineExceeded, kPermissionDenied), kDataLoss (a header or hash that
// does not match the plan), and the donor's own code.
struct FetchTarget {
  std::string address;
  uint64_t peer_id = 0;
};
Status FetchFrom(const FetchTarget& donor, const net::HandshakeParams& params, uint64_t round,
                 const std::vector<proto::Fetch>& fetches,
                 const std::function<Status(const proto::Fetch&, std::string&&)>& install,
                 uint64_t* bytes_received, Deadline deadline);

}  // namespace tern::membership

#endif  // TERN_MEMBERSHIP_STATE_TRANSFER_H_
