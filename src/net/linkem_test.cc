#include "net/linkem.h"

#include <gtest/gtest.h>

#include <thread>

#include "net/blocking.h"
#include "net/tcp.h"

namespace tern::net {
namespace {

struct ProxiedPair {
  std::unique_ptr<Listener> server;
  std::unique_ptr<Linkem> proxy;
  std::unique_ptr<Conn> client, accepted;
};

ProxiedPair Make(double delay_ms, double rate_mbit) {
  ProxiedPair s;
  s.server = std::move(*Listener::Bind("127.0.0.1:0"));
  auto p = Linkem::Start({"127.0.0.1:0", s.server->address(), delay_ms, rate_mbit, 0});
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  s.proxy = std::move(*p);
  const Deadline d = Deadline::AfterMillis(5000);
  s.client = std::move(*TcpConnect(s.proxy->address(), d));
  s.accepted = std::move(*s.server->Accept(d));
  return s;
}

TEST(LinkemTest, AddsOneWayDelayInEachDirection) {
  ProxiedPair s = Make(/*delay_ms=*/40, /*rate_mbit=*/0);
  const Deadline d = Deadline::AfterMillis(5000);
  const auto t0 = Clock::now();
  ASSERT_TRUE(SendFrame(*s.client, 300, "ping", d).ok());
  ASSERT_TRUE(RecvFrame(*s.accepted, 100, d).ok());
  ASSERT_TRUE(SendFrame(*s.accepted, 300, "pong", d).ok());
  auto f = RecvFrame(*s.client, 100, d);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->payload, "pong");
  const auto rtt = Clock::now() - t0;
  EXPECT_GE(rtt, std::chrono::milliseconds(80));
  EXPECT_LT(rtt, std::chrono::milliseconds(2000));  // liveness only
}

TEST(LinkemTest, CapsTheRate) {
  ProxiedPair s = Make(/*delay_ms=*/0, /*rate_mbit=*/40);  // 5 MB/s
  const Deadline d = Deadline::AfterMillis(10000);
  const std::string payload(1 << 20, 'z');
  const auto t0 = Clock::now();
  std::thread t([&] { ASSERT_TRUE(SendFrame(*s.client, 300, payload, d).ok()); });
  auto f = RecvFrame(*s.accepted, 2 << 20, d);
  t.join();
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->payload.size(), payload.size());
  // 1 MiB at 5 MB/s takes >= 0.2 s.
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(190));
  EXPECT_GE(s.proxy->stats().bytes_forward, payload.size());
}

TEST(LinkemTest, CloseOfOneSidePropagates) {
  ProxiedPair s = Make(5, 0);
  s.client.reset();
  uint8_t b;
  EXPECT_EQ(ReadExact(*s.accepted, {&b, 1}, Deadline::AfterMillis(3000)).code(),
            StatusCode::kUnavailable);
}

TEST(LinkemTest, RejectsNegativeDelay) {
  EXPECT_EQ(Linkem::Start({"127.0.0.1:0", "127.0.0.1:1", -1, 0, 0}).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tern::net
