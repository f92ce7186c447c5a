// The run-secret handshake over in-memory connections.
#include "membership/auth.h"

#include <gtest/gtest.h>

#include <thread>

#include "membership/framed_conn.h"
#include "membership/tls.h"
#include "net/fake.h"
#include "wire/frame.h"

namespace tern::membership {
namespace {

struct Outcome {
  Status dialer;
  Status listener;
};

Outcome Handshake(const net::Authenticator* dial_auth, const net::Authenticator* listen_auth) {
  auto [a, b] = net::FakeConnPair(256, "dialer", "listener");
  net::HandshakeParams dp;
  dp.channel = 1;
  dp.run_id = 9;
  dp.self_peer = 5;
  dp.auth = dial_auth;
  net::HandshakeParams lp = dp;
  lp.self_peer = 0;
  lp.auth = listen_auth;
  Outcome o;
  std::thread t([&, conn = std::move(b)]() mutable {
    o.listener = net::AnswerHandshake(conn, lp, nullptr, Deadline::AfterMillis(5000)).status();
  });
  o.dialer = net::DialHandshake(a, dp, 0, 0, Deadline::AfterMillis(5000));
  if (!o.dialer.ok()) a->Close();
  t.join();
  return o;
}

TEST(RunAuthenticatorTest, SameSecretIsAccepted) {
  RunAuthenticator x("a secret of some length", nullptr);
  Outcome o = Handshake(&x, &x);
  EXPECT_TRUE(o.dialer.ok()) << o.dialer.ToString();
  EXPECT_TRUE(o.listener.ok()) << o.listener.ToString();
}

TEST(RunAuthenticatorTest, WrongSecretIsPermissionDeniedOnBothSides) {
  RunAuthenticator good("the right secret, 32 bytes long", nullptr);
  RunAuthenticator bad("the wrong secret, 32 bytes long", nullptr);
  Outcome o = Handshake(&bad, &good);
  EXPECT_EQ(o.dialer.code(), StatusCode::kPermissionDenied) << o.dialer.ToString();
  EXPECT_EQ(o.listener.code(), StatusCode::kPermissionDenied) << o.listener.ToString();
  EXPECT_NE(o.listener.message().find("secret"), std::string_view::npos);
  EXPECT_NE(o.dialer.message().find("secret"), std::string_view::npos);
}

TEST(RunAuthenticatorTest, SecretHolderRefusesAnInsecureListener) {
  RunAuthenticator x("a secret of some length", nullptr);
  Outcome o = Handshake(&x, nullptr);
  EXPECT_EQ(o.dialer.code(), StatusCode::kPermissionDenied) << o.dialer.ToString();
}

TEST(RunAuthenticatorTest, TlsWithTheSameSecretIsAccepted) {
  auto tls = TlsContext::Create();
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  RunAuthenticator x("a secret of some length", *tls);
  Outcome o = Handshake(&x, &x);
  EXPECT_TRUE(o.dialer.ok()) << o.dialer.ToString();
  EXPECT_TRUE(o.listener.ok()) << o.listener.ToString();
}

TEST(RunAuthenticatorTest, TlsWithAWrongSecretIsRefused) {
  auto tls = TlsContext::Create();
  ASSERT_TRUE(tls.ok());
  RunAuthenticator good("the right secret, 32 bytes long", *tls);
  RunAuthenticator bad("the wrong secret, 32 bytes long", *tls);
  Outcome o = Handshake(&bad, &good);
  EXPECT_EQ(o.listener.code(), StatusCode::kPermissionDenied) << o.listener.ToString();
  EXPECT_EQ(o.dialer.code(), StatusCode::kPermissionDenied) << o.dialer.ToString();
}

TEST(RunAuthenticatorTest, TlsCarriesFramesBothWays) {
  auto tls = TlsContext::Create();
  ASSERT_TRUE(tls.ok());
  auto [a, b] = net::FakeConnPair(1000, "c", "s");
  std::unique_ptr<net::Conn> server;
  std::thread t([&, conn = std::move(b)]() mutable {
    auto s = (*tls)->Wrap(std::move(conn), false, Deadline::AfterMillis(5000));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server = std::move(*s);
    auto f = net::RecvFrame(*server, 1 << 20, Deadline::AfterMillis(5000));
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ASSERT_TRUE(net::SendFrame(*server, 300, f->payload, Deadline::AfterMillis(5000)).ok());
  });
  auto c = (*tls)->Wrap(std::move(a), true, Deadline::AfterMillis(5000));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const std::string big(200000, 'q');
  ASSERT_TRUE(net::SendFrame(**c, 300, big, Deadline::AfterMillis(5000)).ok());
  auto echo = net::RecvFrame(**c, 1 << 20, Deadline::AfterMillis(5000));
  t.join();
  ASSERT_TRUE(echo.ok()) << echo.status().ToString();
  EXPECT_EQ(echo->payload, big);
  auto x1 = TlsExporter(**c);
  auto x2 = TlsExporter(*server);
  ASSERT_TRUE(x1.ok() && x2.ok());
  EXPECT_EQ(*x1, *x2);
}

TEST(FramedConnTest, HugeLengthPrefixIsDataLossWithoutAllocating) {
  auto [a, b] = net::FakeConnPair(64, "a", "b");
  FramedConn reader(std::move(b), 1 << 20);
  uint8_t header[wire::kFrameHeaderSize] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x01};
  iovec iov{header, sizeof(header)};
  ASSERT_TRUE(a->WriteSome(&iov, 1).ok());
  EXPECT_EQ(reader.Pump().code(), StatusCode::kDataLoss);
}

TEST(FramedConnTest, FramesSurviveTinyReadsAndWrites) {
  auto [a, b] = net::FakeConnPair(3, "a", "b");
  FramedConn w(std::move(a), 1 << 20);
  FramedConn r(std::move(b), 1 << 20);
  w.Queue(256, "hello");
  w.Queue(257, std::string(1000, 'z'));
  std::vector<net::Frame> got;
  for (int i = 0; i < 10000 && got.size() < 2; ++i) {
    ASSERT_TRUE(w.Pump().ok());
    ASSERT_TRUE(r.Pump().ok());
    while (auto f = r.TakeFrame()) got.push_back(*f);
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].payload, "hello");
  EXPECT_EQ(got[1].type, 257);
  EXPECT_EQ(got[1].payload.size(), 1000u);
}

TEST(FramedConnTest, CorruptChecksumIsDataLoss) {
  auto [a, b] = net::FakeConnPair(4096, "a", "b");
  const std::string payload = "payload";
  std::string bytes(wire::kFrameHeaderSize, '\0');
  bytes += payload;
  auto* p = reinterpret_cast<uint8_t*>(bytes.data());
  wire::EncodeFrameHeader(256, true, {p + wire::kFrameHeaderSize, payload.size()}, {}, p);
  bytes.back() ^= 1;
  iovec iov{bytes.data(), bytes.size()};
  ASSERT_TRUE(a->WriteSome(&iov, 1).ok());
  FramedConn r(std::move(b), 1 << 20);
  EXPECT_EQ(r.Pump().code(), StatusCode::kDataLoss);
  EXPECT_FALSE(r.TakeFrame().has_value());
}

}  // namespace
}  // namespace tern::membership
