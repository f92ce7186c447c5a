// The connection handshake (docs/wire_format.md, "Handshake"), with the seam
// where authentication plugs in.
//
//   dialer                                listener
//   [Authenticator::Secure: e.g. TLS]     [Authenticator::Secure]
//   Hello{magic, version, channel, run id,
//         revision, from, to, stream, ...} ->
//   [Authenticator::Authenticate: any number of kAuth frames each way]
//                                       <- HelloAck{result, revision, peer id}
//
// The listener checks the run id, version, destination peer, stream and
// options (admit callback) and answers with a HelloResult; only kAccepted
// makes a usable connection. Without an Authenticator the run id is the
// only credential (tests, local runs); the control plane provides one that
// proves knowledge of the run secret (HMAC-SHA256 challenge-response over
// both Hellos) and optionally switches to TLS 1.3 in Secure().
//
// Thread-safety: the functions are reentrant; an Authenticator must be
// thread-safe (handshakes of one link set run in parallel).
#ifndef TERN_NET_HANDSHAKE_H_
#define TERN_NET_HANDSHAKE_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "net/conn.h"
#include "tern/status.h"
#include "util/clock.h"
#include "wire/messages.h"

namespace tern::net {

class Authenticator {
 public:
  enum class Role { kDialer, kListener };
  virtual ~Authenticator() = default;

  // Runs first on a fresh connection and returns the Conn to use from then
  // on (a TLS wrapper, say). The default keeps the connection as is.
  virtual Result<std::unique_ptr<Conn>> Secure(std::unique_ptr<Conn> conn, Role role,
                                               Deadline deadline) const;

  // Runs between Hello and HelloAck on both ends, exchanging kAuth frames
  // (net/blocking.h SendFrame/RecvFrame). `hello` is the Hello the dialer
  // sent: bind it into what is signed so a transcript cannot be replayed on
  // another stream or revision. kPermissionDenied if the other end fails.
  virtual Status Authenticate(Conn& conn, Role role, const wire::Hello& hello,
                              Deadline deadline) const = 0;
};

// What both ends of a link set agree on.
struct HandshakeParams {
  uint16_t channel = 0;
  uint64_t run_id = 0;
  uint64_t revision = 0;
  uint64_t self_peer = 0;
  uint16_t stream_count = 1;  // data streams per link
  bool checksums = true;
  const Authenticator* auth = nullptr;  // not owned; may be null
};

// Dials side: secures, sends Hello for (to_peer, stream), authenticates,
// reads the HelloAck. Errors: kUnavailable (closed, or the listener is at
// another revision: retry), kFailedPrecondition (wrong run, unknown peer,
// option or version mismatch: do not retry), kPermissionDenied (auth),
// kDataLoss (malformed answer), kDeadlineExceeded.
Status DialHandshake(std::unique_ptr<Conn>& conn, const HandshakeParams& params,
                     uint64_t to_peer, uint16_t stream, Deadline deadline);

// Listening side: secures, reads the Hello, checks run id, version, the
// destination and options, asks `admit` (e.g. "is this peer in my revision
// and may it dial me?"), authenticates, answers. Returns the accepted
// Hello; on refusal the dialer is told why and the status says it too.
using AdmitFn = std::function<wire::HelloResult(const wire::Hello&)>;
Result<wire::Hello> AnswerHandshake(std::unique_ptr<Conn>& conn, const HandshakeParams& params,
                                    const AdmitFn& admit, Deadline deadline);

}  // namespace tern::net

#endif  // TERN_NET_HANDSHAKE_H_
