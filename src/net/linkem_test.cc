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

ProxiedPair Make(double delay_ms, double rate_mbit, size_t queue_bytes = 0) {
  ProxiedPair s;
  s.server = std::move(*Listener::Bind("127.0.0.1:0"));
  auto p = Linkem::Start({"127.0.0.1:0", s.server->address(), delay_ms, rate_mbit, queue_bytes});
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

// Byte counters are updated right after each send, so they may trail what
// the peer already read by a loop turn: wait for them (liveness only).
uint64_t ForwardedAtLeast(const Linkem& proxy, uint64_t want) {
  const Deadline d = Deadline::AfterMillis(5000);
  uint64_t got = proxy.stats().bytes_forward;
  while (got < want && !d.Expired()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    got = proxy.stats().bytes_forward;
  }
  return got;
}

TEST(LinkemTest, CapsTheRate) {
  ProxiedPair s = Make(/*delay_ms=*/0, /*rate_mbit=*/40);  // 5 MB/s
  const Deadline d = Deadline::AfterMillis(20000);
  // 2 MiB: 419 ms at the cap, long against scheduling noise on a busy machine.
  const std::string payload(2 << 20, 'z');
  const auto t0 = Clock::now();
  std::thread t([&] { ASSERT_TRUE(SendFrame(*s.client, 300, payload, d).ok()); });
  auto f = RecvFrame(*s.accepted, 4 << 20, d);
  const auto elapsed = Clock::now() - t0;
  t.join();
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->payload, payload);
  // No faster than the cap. Pacing only ever delays bytes, so this lower
  // bound holds however loaded the machine is.
  EXPECT_GE(elapsed, std::chrono::milliseconds(400));
  EXPECT_LT(elapsed, std::chrono::milliseconds(15000));  // liveness only
  EXPECT_GE(ForwardedAtLeast(*s.proxy, payload.size()), payload.size());
}

// A peer that sends its last frame and closes at once (it finished its
// collective) must not lose that frame, still in flight in the proxy, when
// the other direction breaks: here the closed peer's kernel resets the
// connection as soon as a delayed frame for it arrives.
TEST(LinkemTest, ClosingPeerStillDeliversItsLastFrame) {
  ProxiedPair s = Make(/*delay_ms=*/50, /*rate_mbit=*/40);  // 1 MiB takes ~210 ms
  const Deadline d = Deadline::AfterMillis(10000);
  const std::string last(1 << 20, 'q');
  ASSERT_TRUE(SendFrame(*s.client, 300, last, d).ok());
  s.client.reset();  // closes; the proxy still holds most of `last`
  // Arrives at the closed client after 50 ms: its kernel answers with a
  // reset, and the proxy's next write towards it fails.
  ASSERT_TRUE(SendFrame(*s.accepted, 300, "too late", d).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  ASSERT_TRUE(SendFrame(*s.accepted, 300, "later still", d).ok());
  auto f = RecvFrame(*s.accepted, 2 << 20, d);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->payload, last);
  // Then the close itself arrives.
  uint8_t b;
  EXPECT_EQ(ReadExact(*s.accepted, {&b, 1}, d).code(), StatusCode::kUnavailable);
}

TEST(LinkemTest, StopDeliversWhatIsInFlightThenCloses) {
  ProxiedPair s = Make(/*delay_ms=*/300, /*rate_mbit=*/0);
  const Deadline d = Deadline::AfterMillis(10000);
  ASSERT_TRUE(SendFrame(*s.client, 300, "in flight", d).ok());
  // Well inside the delay: the proxy has read the frame, not delivered it.
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  s.proxy->Stop();
  auto f = RecvFrame(*s.accepted, 100, d);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->payload, "in flight");
  uint8_t b;
  EXPECT_EQ(ReadExact(*s.accepted, {&b, 1}, d).code(), StatusCode::kUnavailable);
}

// Connections share the line, not their backlogs: a receiver that stops
// reading holds up only its own connection (on a real link its bytes would
// wait in its own socket buffer).
TEST(LinkemTest, StalledReceiverDoesNotHoldUpOtherConnections) {
  ProxiedPair s = Make(/*delay_ms=*/5, /*rate_mbit=*/0, /*queue_bytes=*/256 << 10);
  const Deadline d = Deadline::AfterMillis(20000);
  // Connection 1 sends far more than every buffer on its path holds, and
  // its receiver (s.accepted) never reads.
  std::thread stalled([&] {
    SendFrame(*s.client, 64 << 20, std::string(48 << 20, 's'), d).IgnoreError();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the proxy's share fills
  auto client2 = TcpConnect(s.proxy->address(), d);
  ASSERT_TRUE(client2.ok());
  auto accepted2 = s.server->Accept(d);
  ASSERT_TRUE(accepted2.ok());
  const std::string payload(1 << 20, 'm');
  std::thread sender([&] { EXPECT_TRUE(SendFrame(**client2, 300, payload, d).ok()); });
  auto f = RecvFrame(**accepted2, 2 << 20, Deadline::AfterMillis(5000));
  sender.join();
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->payload, payload);
  s.client->Close();  // unblocks the stalled sender
  s.accepted->Close();
  stalled.join();
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
