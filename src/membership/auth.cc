#include "membership/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "membership/tls.h"
#include "net/blocking.h"
#include "util/check.h"
#include "wire/messages.h"

namespace tern::membership {
namespace {

constexpr size_t kNonce = 32;
constexpr size_t kMac = 32;
constexpr char kDialerLabel[] = "tern-auth-v1 dialer";
constexpr char kListenerLabel[] = "tern-auth-v1 listener";

Result<std::string> Nonce() {
  std::string n(kNonce, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(n.data()), static_cast<int>(n.size())) != 1) {
    return InternalError("RAND_bytes failed");
  }
  return n;
}

bool MacEqual(const std::string& a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// The other end answered with a HelloAck instead of an auth message: it
// refused us before (or instead of) authenticating.
Status RefusalDuringAuth(const net::Frame& f, const std::string& peer) {
  auto ack = wire::DecodeHelloAck(
      {reinterpret_cast<const uint8_t*>(f.payload.data()), f.payload.size()});
  if (!ack.ok()) return ack.status();
  std::string why = "handshake with " + peer + " refused: " +
                    std::string(wire::HelloResultName(ack->result));
  if (!ack->message.empty()) why += " (" + ack->message + ")";
  switch (ack->result) {
    case wire::HelloResult::kAccepted:
      return PermissionDeniedError("handshake with " + peer +
                                   ": the listener did not authenticate (insecure master?); "
                                   "refusing it because we hold a run secret");
    case wire::HelloResult::kAuthFailed:
      return PermissionDeniedError(why + ": wrong run secret?");
    case wire::HelloResult::kRevisionMismatch: return UnavailableError(why);
    default: return FailedPreconditionError(why);
  }
}

Result<std::string> RecvAuth(net::Conn& conn, size_t expected, Deadline deadline) {
  TERN_ASSIGN_OR_RETURN(net::Frame f, net::RecvFrame(conn, wire::kMaxControlFrame, deadline));
  if (f.type == static_cast<uint16_t>(wire::FrameType::kHelloAck)) {
    return RefusalDuringAuth(f, conn.peer());
  }
  if (f.type != static_cast<uint16_t>(wire::FrameType::kAuth) || f.payload.size() != expected) {
    return DataLossError("handshake with " + conn.peer() + ": malformed auth message (type " +
                         std::to_string(f.type) + ", " + std::to_string(f.payload.size()) +
                         " bytes)");
  }
  return std::move(f.payload);
}

}  // namespace

std::string HmacSha256(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

RunAuthenticator::RunAuthenticator(std::string secret, std::shared_ptr<const TlsContext> tls)
    : secret_(std::move(secret)), tls_(std::move(tls)) {
  TERN_CHECK(!secret_.empty()) << "an insecure run installs no authenticator";
}

RunAuthenticator::~RunAuthenticator() = default;

Result<std::unique_ptr<net::Conn>> RunAuthenticator::Secure(std::unique_ptr<net::Conn> conn,
                                                            Role role, Deadline deadline) const {
  if (tls_ == nullptr) return conn;
  return tls_->Wrap(std::move(conn), role == Role::kDialer, deadline);
}

Status RunAuthenticator::Authenticate(net::Conn& conn, Role role, const wire::Hello& hello,
                                      Deadline deadline) const {
  std::string head;
  wire::EncodeHello(hello, &head);
  if (tls_ != nullptr) {
    TERN_ASSIGN_OR_RETURN(std::string binding, TlsExporter(conn));
    head += binding;
  }
  return role == Role::kListener ? AuthenticateListener(conn, head, deadline)
                                 : AuthenticateDialer(conn, head, deadline);
}

Status RunAuthenticator::AuthenticateListener(net::Conn& conn, const std::string& head,
                                              Deadline deadline) const {
  TERN_ASSIGN_OR_RETURN(std::string nonce_l, Nonce());
  TERN_RETURN_IF_ERROR(net::SendFrame(conn, wire::FrameType::kAuth, nonce_l, deadline));
  TERN_ASSIGN_OR_RETURN(std::string proof, RecvAuth(conn, kNonce + kMac, deadline));
  const std::string nonce_d = proof.substr(0, kNonce);
  const std::string t = head + nonce_l + nonce_d;
  if (!MacEqual(HmacSha256(secret_, kDialerLabel + t), std::string_view(proof).substr(kNonce))) {
    return PermissionDeniedError("peer at " + conn.peer() +
                                 " did not prove knowledge of the run secret (wrong secret)");
  }
  return net::SendFrame(conn, wire::FrameType::kAuth, HmacSha256(secret_, kListenerLabel + t),
                        deadline);
}

Status RunAuthenticator::AuthenticateDialer(net::Conn& conn, const std::string& head,
                                            Deadline deadline) const {
  TERN_ASSIGN_OR_RETURN(std::string nonce_l, RecvAuth(conn, kNonce, deadline));
  TERN_ASSIGN_OR_RETURN(std::string nonce_d, Nonce());
  const std::string t = head + nonce_l + nonce_d;
  TERN_RETURN_IF_ERROR(net::SendFrame(conn, wire::FrameType::kAuth,
                                      nonce_d + HmacSha256(secret_, kDialerLabel + t), deadline));
  TERN_ASSIGN_OR_RETURN(std::string mac_l, RecvAuth(conn, kMac, deadline));
  if (!MacEqual(HmacSha256(secret_, kListenerLabel + t), mac_l)) {
    return PermissionDeniedError("handshake with " + conn.peer() +
                                 ": the listener did not prove knowledge of the run secret");
  }
  return OkStatus();
}

}  // namespace tern::membership
