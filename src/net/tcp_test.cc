#include "net/tcp.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "net/blocking.h"

namespace tern::net {
namespace {

using ::testing::HasSubstr;

TEST(TcpTest, ConnectAcceptAndExchangeFrames) {
  auto listener = Listener::Bind("127.0.0.1:0");
  ASSERT_TRUE(listener.ok()) << listener.status().ToString();
  EXPECT_THAT((*listener)->address(), HasSubstr("127.0.0.1:"));
  EXPECT_THAT((*listener)->address(), ::testing::Not(HasSubstr(":0")));
  const Deadline d = Deadline::AfterMillis(5000);
  auto client = TcpConnect((*listener)->address(), d);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto server = (*listener)->Accept(d);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  std::string big(3 << 20, 'x');
  std::thread t([&] { ASSERT_TRUE(SendFrame(**client, 300, big, d).ok()); });
  auto f = RecvFrame(**server, 4 << 20, d);
  t.join();
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->type, 300);
  EXPECT_EQ(f->payload, big);
}

TEST(TcpTest, RefusedConnectionNamesSyscallErrnoAndPeer) {
  // Bind then close to get a port nobody listens on.
  std::string addr;
  {
    auto l = Listener::Bind("127.0.0.1:0");
    ASSERT_TRUE(l.ok());
    addr = (*l)->address();
  }
  auto c = TcpConnect(addr, Deadline::AfterMillis(2000));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("connect " + addr));
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("errno 111"));
}

TEST(TcpTest, AcceptHonoursDeadline) {
  auto l = Listener::Bind("127.0.0.1:0");
  ASSERT_TRUE(l.ok());
  const auto t0 = Clock::now();
  auto c = (*l)->Accept(Deadline::AfterMillis(50));
  EXPECT_EQ(c.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(2));
}

TEST(TcpTest, PeerCloseIsUnavailable) {
  auto l = Listener::Bind("127.0.0.1:0");
  ASSERT_TRUE(l.ok());
  const Deadline d = Deadline::AfterMillis(5000);
  auto client = TcpConnect((*l)->address(), d);
  ASSERT_TRUE(client.ok());
  auto server = (*l)->Accept(d);
  ASSERT_TRUE(server.ok());
  client->reset();
  uint8_t b[4];
  Status s = ReadExact(**server, b, d);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_THAT(std::string(s.message()), HasSubstr("closed by peer"));
}

TEST(TcpTest, AdoptRefusesNonListeningSocket) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(Listener::Adopt(fd).status().code(), StatusCode::kInvalidArgument);
}

TEST(TcpTest, MalformedAddressIsInvalidArgument) {
  EXPECT_EQ(TcpConnect("no-port", Deadline::AfterMillis(100)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Listener::Bind("127.0.0.1:99999").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseAddress("[::1:80").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tern::net
