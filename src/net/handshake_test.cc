#include "net/handshake.h"

#include <gtest/gtest.h>

#include <thread>

#include "net/blocking.h"
#include "net/fake.h"

namespace tern::net {
namespace {

// A toy authenticator: each end sends its secret in a kAuth frame and
// compares the other's. Enough to show the seam carries extra messages.
class SecretAuth : public Authenticator {
 public:
  explicit SecretAuth(std::string secret) : secret_(std::move(secret)) {}
  Status Authenticate(Conn& conn, Role, const wire::Hello&, Deadline d) const override {
    TERN_RETURN_IF_ERROR(SendFrame(conn, wire::FrameType::kAuth, secret_, d));
    TERN_ASSIGN_OR_RETURN(Frame f, RecvFrame(conn, 100, d));
    if (f.payload != secret_) return PermissionDeniedError("wrong secret");
    return OkStatus();
  }

 private:
  std::string secret_;
};

HandshakeParams Params(uint64_t self) {
  HandshakeParams p;
  p.run_id = 7;
  p.revision = 2;
  p.self_peer = self;
  p.stream_count = 2;
  return p;
}

struct Outcome {
  Status dial;
  Result<wire::Hello> answer = InternalError("unset");
};

Outcome RunHandshake(HandshakeParams dialer, HandshakeParams listener, uint16_t stream = 1,
            AdmitFn admit = nullptr) {
  auto [a, b] = FakeConnPair(1 << 12, "dialer", "listener");
  const Deadline d = Deadline::AfterMillis(2000);
  Outcome o;
  std::thread t([&, &b = b] { o.answer = AnswerHandshake(b, listener, admit, d); });
  o.dial = DialHandshake(a, dialer, listener.self_peer, stream, d);
  t.join();
  return o;
}

TEST(HandshakeTest, MatchingPeersAreAccepted) {
  Outcome o = RunHandshake(Params(1), Params(2));
  EXPECT_TRUE(o.dial.ok()) << o.dial.ToString();
  ASSERT_TRUE(o.answer.ok()) << o.answer.status().ToString();
  EXPECT_EQ(o.answer->from_peer, 1u);
  EXPECT_EQ(o.answer->stream, 1);
}

TEST(HandshakeTest, WrongRunIsFailedPrecondition) {
  HandshakeParams other = Params(1);
  other.run_id = 8;
  Outcome o = RunHandshake(other, Params(2));
  EXPECT_EQ(o.dial.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(o.answer.status().code(), StatusCode::kFailedPrecondition);
}

TEST(HandshakeTest, RevisionMismatchIsRetryableUnavailable) {
  HandshakeParams ahead = Params(1);
  ahead.revision = 3;
  Outcome o = RunHandshake(ahead, Params(2));
  EXPECT_EQ(o.dial.code(), StatusCode::kUnavailable);
}

TEST(HandshakeTest, OptionMismatchAndBadStreamAreRefused) {
  HandshakeParams nocrc = Params(1);
  nocrc.checksums = false;
  EXPECT_EQ(RunHandshake(nocrc, Params(2)).dial.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(RunHandshake(Params(1), Params(2), /*stream=*/3).dial.code(), StatusCode::kFailedPrecondition);
}

TEST(HandshakeTest, AdmitCallbackCanRefuse) {
  Outcome o = RunHandshake(Params(1), Params(2), 1,
                  [](const wire::Hello&) { return wire::HelloResult::kUnknownPeer; });
  EXPECT_EQ(o.dial.code(), StatusCode::kFailedPrecondition);
}

TEST(HandshakeTest, AuthenticatorSeamAcceptsSharedSecretAndRefusesOthers) {
  SecretAuth good("s3cret"), bad("guess");
  HandshakeParams dialer = Params(1), listener = Params(2);
  dialer.auth = &good;
  listener.auth = &good;
  Outcome ok = RunHandshake(dialer, listener);
  EXPECT_TRUE(ok.dial.ok()) << ok.dial.ToString();
  EXPECT_TRUE(ok.answer.ok());
  dialer.auth = &bad;
  Outcome refused = RunHandshake(dialer, listener);
  EXPECT_EQ(refused.dial.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.answer.status().code(), StatusCode::kPermissionDenied);
}

TEST(HandshakeTest, GarbageInsteadOfHelloIsDataLoss) {
  auto [a, b] = FakeConnPair(1 << 12, "dialer", "listener");
  const Deadline d = Deadline::AfterMillis(1000);
  ASSERT_TRUE(SendFrame(*a, wire::FrameType::kHello, "not a hello", d).ok());
  EXPECT_EQ(AnswerHandshake(b, Params(2), nullptr, d).status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace tern::net
