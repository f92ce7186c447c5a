// ProbeListener: does a process still listen at "host:port"? The master
// asks it about members that have not re-registered after a restart
// (docs/membership_protocol.md, "Master restarts"): a member killed while
// the master was away never comes back, and a refused connection to its
// state listener says so at once, where waiting would cost the whole
// recovery window.
//
// Only a refusal (ECONNREFUSED: the host answered that nothing listens) is
// conclusive; a timeout or an unreachable network says nothing, since the
// master may simply not be allowed to reach peers.
//
// Thread-safe (no shared state); blocks up to the deadline.
#ifndef TERN_MEMBERSHIP_LIVENESS_PROBE_H_
#define TERN_MEMBERSHIP_LIVENESS_PROBE_H_

#include <string>

#include "util/clock.h"

namespace tern::membership {

enum class ProbeOutcome { kListening, kRefused, kUnknown };

// Dials `address` and closes the connection at once (the listener sees a
// connection that ends before its handshake).
ProbeOutcome ProbeListener(const std::string& address, Deadline deadline);

}  // namespace tern::membership

#endif  // TERN_MEMBERSHIP_LIVENESS_PROBE_H_
