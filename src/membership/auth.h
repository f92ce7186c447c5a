// RunAuthenticator: proves on every handshake that both ends know the run
// secret (docs/membership_protocol.md, "Authentication").
//
//   listener -> dialer   kAuth{ nonce_l (32 bytes) }
//   dialer   -> listener kAuth{ nonce_d (32) | HMAC(k, "tern-auth-v1 dialer" | T) }
//   listener -> dialer   kAuth{ HMAC(k, "tern-auth-v1 listener" | T) }
//   T = encoded Hello | nonce_l | nonce_d | TLS exporter (32 bytes, if TLS)
//
// Mutual: a dialer also refuses a listener that cannot prove the secret. The
// MACs cover the whole Hello (run id, revision, channel, peers, stream), so
// a transcript cannot be replayed on another connection, and with TLS they
// cover the session's exporter, so a man in the middle cannot relay them.
// An insecure run (no secret) installs no authenticator at all; a dialer
// holding a secret refuses a listener that does not authenticate.
//
// Thread-safe (immutable after construction).
#ifndef TERN_MEMBERSHIP_AUTH_H_
#define TERN_MEMBERSHIP_AUTH_H_

#include <memory>
#include <string>

#include "net/handshake.h"

namespace tern::membership {

class TlsContext;

class RunAuthenticator : public net::Authenticator {
 public:
  // REQUIRES: a non-empty secret. `tls` may be null (no TLS).
  RunAuthenticator(std::string secret, std::shared_ptr<const TlsContext> tls);
  ~RunAuthenticator() override;

  Result<std::unique_ptr<net::Conn>> Secure(std::unique_ptr<net::Conn> conn, Role role,
                                            Deadline deadline) const override;
  Status Authenticate(net::Conn& conn, Role role, const wire::Hello& hello,
                      Deadline deadline) const override;

  bool tls() const { return tls_ != nullptr; }

 private:
  Status AuthenticateListener(net::Conn& conn, const std::string& transcript_head,
                              Deadline deadline) const;
  Status AuthenticateDialer(net::Conn& conn, const std::string& transcript_head,
                            Deadline deadline) const;

  const std::string secret_;
  const std::shared_ptr<const TlsContext> tls_;
};

// HMAC-SHA256 of `data` under `key` (32 bytes).
std::string HmacSha256(const std::string& key, const std::string& data);

}  // namespace tern::membership

#endif  // TERN_MEMBERSHIP_AUTH_H_
