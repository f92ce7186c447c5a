// Optional TLS 1.3 on every control-plane and data-plane connection
// (docs/membership_protocol.md, "TLS").
//
// Each process makes an ephemeral P-256 key and a self-signed certificate;
// certificates are not verified. Identity comes from the run secret instead:
// the HMAC challenge-response (membership/auth.h) covers the TLS exporter
// of the session, so a man in the middle, who would hold two different
// sessions, cannot relay the proofs. TLS adds confidentiality and
// integrity of everything after the handshake.
//
// The TLS connection wraps any net::Conn (memory BIOs), so it works over
// TCP, fakes and fault injectors alike, and stays non-blocking.
//
// WriteSome on a TLS connection reports bytes as written only once their
// ciphertext reached the underlying connection; until then it returns 0
// and expects the same unreported bytes to be presented again (what every
// caller of Conn does), so no tail of a message waits in a buffer nobody
// flushes.
//
// Thread-safety: a TlsContext is immutable and shared; a TLS Conn follows
// net/conn.h (one thread at a time, Close from any).
#ifndef TERN_MEMBERSHIP_TLS_H_
#define TERN_MEMBERSHIP_TLS_H_

#include <memory>
#include <string>

#include "net/conn.h"
#include "tern/status.h"
#include "util/clock.h"

namespace tern::membership {

class TlsContext {
 public:
  // Generates the key and certificate. kInternal if OpenSSL fails.
  static Result<std::shared_ptr<const TlsContext>> Create();
  ~TlsContext();

  // Runs the TLS 1.3 handshake over `conn` and returns the encrypted
  // connection. kUnavailable (closed), kDeadlineExceeded,
  // kPermissionDenied (the handshake failed: not TLS, or a bad peer).
  Result<std::unique_ptr<net::Conn>> Wrap(std::unique_ptr<net::Conn> conn, bool client,
                                          Deadline deadline) const;

  struct Ctx;

 private:
  explicit TlsContext(std::unique_ptr<Ctx> ctx);
  std::unique_ptr<Ctx> ctx_;
};

// 32 bytes of the session's keying-material exporter (RFC 8446 7.5), label
// "EXPORTER-tern-auth". kInternal if `conn` is not a TLS connection.
Result<std::string> TlsExporter(net::Conn& conn);

}  // namespace tern::membership

#endif  // TERN_MEMBERSHIP_TLS_H_
