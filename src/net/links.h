// Links: the connections between this process and its peers for one
// revision. A link to a peer is 1 + K TCP connections: stream 0 (control)
// carries only Abort frames, streams 1..K carry data, so a large transfer is
// striped over K streams (a long fat pipe needs several TCP windows) and an
// abort never has to wait behind a half-sent data frame.
//
// EstablishLinks dials the given peers and accepts the others on the
// listener, all handshakes in parallel, retrying refused connections and
// revision mismatches (the peer is not ready yet) until the deadline. The
// control plane reuses it for its own channels (HandshakeParams::channel).
//
// Thread-safety: EstablishLinks may not run twice at once on one listener.
#ifndef TERN_NET_LINKS_H_
#define TERN_NET_LINKS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/conn.h"
#include "net/handshake.h"
#include "net/tcp.h"
#include "tern/status.h"
#include "util/clock.h"

namespace tern::net {

struct PeerEndpoint {
  uint64_t peer_id = 0;
  std::string address;  // "host:port" of its listener
};

struct PeerLink {
  uint64_t peer_id = 0;
  std::unique_ptr<Conn> control;            // stream 0
  std::vector<std::unique_ptr<Conn>> data;  // streams 1..K, data[i] is stream i+1
  void Close();                             // closes every connection
};

struct LinkSetSpec {
  HandshakeParams params;
  std::vector<PeerEndpoint> dial;     // we connect to these
  std::vector<uint64_t> accept_from;  // these connect to us
  // Polled every few milliseconds while links are missing; a non-OK status
  // ends the call with it. The communicator stops when the master has
  // announced a newer revision: a peer of this one may have died during
  // setup, and waiting for it would cost the whole deadline.
  std::function<Status()> abandon;
};

// Returns one link per peer: those of `dial` first (in order), then those
// of `accept_from` (in order). Blocks until all are up.
// Errors: kDeadlineExceeded (names the peers still missing), the
// non-retryable handshake errors (kFailedPrecondition, kPermissionDenied),
// and whatever `spec.abandon` returned.
Result<std::vector<PeerLink>> EstablishLinks(Listener& listener, const LinkSetSpec& spec,
                                             Deadline deadline);

}  // namespace tern::net

#endif  // TERN_NET_LINKS_H_
