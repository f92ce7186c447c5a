#include "membership/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <utility>

#include "net/blocking.h"

namespace tern::membership {
namespace {

constexpr size_t kPullBytes = 64 << 10;
constexpr size_t kMaxWriteChunk = 256 << 10;

std::string OpenSslError(const char* what) {
  std::string msg = what;
  unsigned long e = ERR_get_error();
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    msg += ": ";
    msg += buf;
  }
  ERR_clear_error();
  return msg;
}

class TlsConn : public net::Conn {
 public:
  TlsConn(std::unique_ptr<net::Conn> inner, SSL* ssl) : inner_(std::move(inner)), ssl_(ssl) {}
  ~TlsConn() override { SSL_free(ssl_); }

  Result<size_t> ReadSome(void* buf, size_t n) override {
    if (n == 0) return size_t{0};
    TERN_RETURN_IF_ERROR(FlushOut());
    for (;;) {
      size_t got = 0;
      ERR_clear_error();
      if (SSL_read_ex(ssl_, buf, n, &got) == 1) {
        TERN_RETURN_IF_ERROR(FlushOut());
        return got;
      }
      TERN_ASSIGN_OR_RETURN(bool more, HandleError("SSL_read"));
      if (!more) return size_t{0};
    }
  }

  // Plaintext counts as written only once its ciphertext reached the
  // inner connection: otherwise a caller that stops writing would leave the
  // tail of its last message in our buffer forever. Until then we report
  // 0 and the caller presents the same bytes again (every Conn caller
  // does); we skip the `unacked_` bytes already encrypted.
  Result<size_t> WriteSome(const struct iovec* iov, int iovcnt) override {
    TERN_RETURN_IF_ERROR(FlushOut());
    if (!pending_out_.empty()) return size_t{0};
    if (unacked_ > 0) return std::exchange(unacked_, size_t{0});
    std::string plain;
    for (int i = 0; i < iovcnt && plain.size() < kMaxWriteChunk; ++i) {
      size_t take = std::min(iov[i].iov_len, kMaxWriteChunk - plain.size());
      plain.append(static_cast<const char*>(iov[i].iov_base), take);
    }
    if (plain.empty()) return size_t{0};
    for (;;) {
      size_t wrote = 0;
      ERR_clear_error();
      if (SSL_write_ex(ssl_, plain.data(), plain.size(), &wrote) == 1) {
        TERN_RETURN_IF_ERROR(FlushOut());
        if (pending_out_.empty()) return wrote;
        unacked_ = wrote;
        return size_t{0};
      }
      TERN_ASSIGN_OR_RETURN(bool more, HandleError("SSL_write"));
      if (!more) return size_t{0};
    }
  }

  net::PollSpec Poll(bool want_read, bool want_write) const override {
    return inner_->Poll(want_read, want_write || !pending_out_.empty());
  }
  void Close() override { inner_->Close(); }
  const std::string& peer() const override { return inner_->peer(); }

  SSL* ssl() { return ssl_; }

  // Drives the handshake until done.
  Status Handshake(Deadline deadline) {
    for (;;) {
      ERR_clear_error();
      if (SSL_do_handshake(ssl_) == 1) return FlushAll(deadline);
      TERN_ASSIGN_OR_RETURN(bool more, HandleError("TLS handshake"));
      if (!more) {
        TERN_RETURN_IF_ERROR(FlushAll(deadline));
        TERN_RETURN_IF_ERROR(net::WaitReady(*inner_, true, false, deadline));
      }
    }
  }

 private:
  // After a failed SSL call: moves bytes between the BIOs and the inner
  // connection. Returns true to retry the call now, false if it must wait
  // for the network.
  Result<bool> HandleError(const char* what) {
    const int err = SSL_get_error(ssl_, 0);
    TERN_RETURN_IF_ERROR(FlushOut());
    if (err == SSL_ERROR_WANT_READ) {
      char tmp[kPullBytes];
      TERN_ASSIGN_OR_RETURN(size_t got, inner_->ReadSome(tmp, sizeof(tmp)));
      if (got == 0) return false;
      BIO_write(SSL_get_rbio(ssl_), tmp, static_cast<int>(got));
      return true;
    }
    if (err == SSL_ERROR_WANT_WRITE) return false;
    if (err == SSL_ERROR_ZERO_RETURN) {
      return UnavailableError(std::string(what) + " " + peer() + ": TLS session closed");
    }
    return PermissionDeniedError(OpenSslError(what) + " (peer " + peer() + ")");
  }

  // Moves ciphertext from the write BIO to the inner connection, as far
  // as it takes it now.
  Status FlushOut() {
    BIO* wbio = SSL_get_wbio(ssl_);
    char tmp[kPullBytes];
    for (int n; (n = BIO_read(wbio, tmp, sizeof(tmp))) > 0;) pending_out_.append(tmp, n);
    while (!pending_out_.empty()) {
      iovec iov{pending_out_.data(), pending_out_.size()};
      TERN_ASSIGN_OR_RETURN(size_t w, inner_->WriteSome(&iov, 1));
      if (w == 0) break;
      pending_out_.erase(0, w);
    }
    return OkStatus();
  }

  Status FlushAll(Deadline deadline) {
    TERN_RETURN_IF_ERROR(FlushOut());
    while (!pending_out_.empty()) {
      TERN_RETURN_IF_ERROR(net::WaitReady(*inner_, false, true, deadline));
      TERN_RETURN_IF_ERROR(FlushOut());
    }
    return OkStatus();
  }

  std::unique_ptr<net::Conn> inner_;
  SSL* ssl_;
  std::string pending_out_;  // ciphertext not yet taken by inner_
  size_t unacked_ = 0;       // plaintext encrypted but not yet reported written
};

}  // namespace

struct TlsContext::Ctx {
  SSL_CTX* server = nullptr;
  SSL_CTX* client = nullptr;
  ~Ctx() {
    SSL_CTX_free(server);
    SSL_CTX_free(client);
  }
};

TlsContext::TlsContext(std::unique_ptr<Ctx> ctx) : ctx_(std::move(ctx)) {}
TlsContext::~TlsContext() = default;

namespace {

// A self-signed certificate for an ephemeral P-256 key, valid for a week.
Result<X509*> SelfSigned(EVP_PKEY* key) {
  X509* cert = X509_new();
  if (cert == nullptr) return InternalError(OpenSslError("X509_new"));
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 7 * 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("tern"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  if (X509_sign(cert, key, EVP_sha256()) == 0) {
    X509_free(cert);
    return InternalError(OpenSslError("X509_sign"));
  }
  return cert;
}

Result<SSL_CTX*> NewCtx(bool server) {
  SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (ctx == nullptr) return InternalError(OpenSslError("SSL_CTX_new"));
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);  // identity: HMAC over the exporter
  if (server) SSL_CTX_set_num_tickets(ctx, 0);
  return ctx;
}

}  // namespace

Result<std::shared_ptr<const TlsContext>> TlsContext::Create() {
  auto ctx = std::make_unique<Ctx>();
  TERN_ASSIGN_OR_RETURN(ctx->server, NewCtx(true));
  TERN_ASSIGN_OR_RETURN(ctx->client, NewCtx(false));
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) return InternalError(OpenSslError("EVP_EC_gen"));
  Result<X509*> cert = SelfSigned(key);
  if (!cert.ok()) {
    EVP_PKEY_free(key);
    return cert.status();
  }
  const bool ok = SSL_CTX_use_certificate(ctx->server, *cert) == 1 &&
                  SSL_CTX_use_PrivateKey(ctx->server, key) == 1;
  X509_free(*cert);
  EVP_PKEY_free(key);
  if (!ok) return InternalError(OpenSslError("SSL_CTX_use_certificate"));
  return std::shared_ptr<const TlsContext>(new TlsContext(std::move(ctx)));
}

Result<std::unique_ptr<net::Conn>> TlsContext::Wrap(std::unique_ptr<net::Conn> conn, bool client,
                                                    Deadline deadline) const {
  SSL* ssl = SSL_new(client ? ctx_->client : ctx_->server);
  if (ssl == nullptr) return InternalError(OpenSslError("SSL_new"));
  SSL_set_bio(ssl, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
  if (client) {
    SSL_set_connect_state(ssl);
  } else {
    SSL_set_accept_state(ssl);
  }
  auto tls = std::make_unique<TlsConn>(std::move(conn), ssl);
  TERN_RETURN_IF_ERROR(tls->Handshake(deadline));
  return std::unique_ptr<net::Conn>(std::move(tls));
}

Result<std::string> TlsExporter(net::Conn& conn) {
  auto* tls = dynamic_cast<TlsConn*>(&conn);
  if (tls == nullptr) return InternalError("TLS exporter asked of a plain connection");
  static constexpr char kLabel[] = "EXPORTER-tern-auth";
  std::string out(32, '\0');
  if (SSL_export_keying_material(tls->ssl(), reinterpret_cast<unsigned char*>(out.data()),
                                 out.size(), kLabel, sizeof(kLabel) - 1, nullptr, 0, 0) != 1) {
    return InternalError(OpenSslError("SSL_export_keying_material"));
  }
  return out;
}

}  // namespace tern::membership
