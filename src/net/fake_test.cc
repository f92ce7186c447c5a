#include "net/fake.h"

#include <gtest/gtest.h>

#include <thread>

#include "net/blocking.h"

namespace tern::net {
namespace {

TEST(FakeConnTest, SmallCapacityForcesPartialWritesButDeliversEverything) {
  auto [a, b] = FakeConnPair(7, "a", "b");
  std::string msg(1000, '\0');
  for (size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<char>(i * 31);
  iovec iov{msg.data(), msg.size()};
  auto n = a->WriteSome(&iov, 1);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 7u);
  const Deadline d = Deadline::AfterMillis(5000);
  std::thread t([&, &a = a] {
    ASSERT_TRUE(WriteAll(*a, {reinterpret_cast<uint8_t*>(msg.data()) + 7, msg.size() - 7}, d).ok());
  });
  std::string got(msg.size(), '\0');
  ASSERT_TRUE(ReadExact(*b, {reinterpret_cast<uint8_t*>(got.data()), got.size()}, d).ok());
  t.join();
  EXPECT_EQ(got, msg);
}

TEST(FakeConnTest, ReadsDrainThenSeeClose) {
  auto [a, b] = FakeConnPair(64, "a", "b");
  iovec iov{const_cast<char*>("hi"), 2};
  ASSERT_TRUE(a->WriteSome(&iov, 1).ok());
  a->Close();
  char buf[8];
  auto n = b->ReadSome(buf, 8);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(b->ReadSome(buf, 8).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(b->WriteSome(&iov, 1).status().code(), StatusCode::kUnavailable);
}

TEST(FakeConnTest, PollIsLevelTriggered) {
  auto [a, b] = FakeConnPair(64, "a", "b");
  // Nothing to read: a zero-timeout wait fails.
  EXPECT_EQ(WaitReady(*b, true, false, Deadline::AfterMillis(0)).code(),
            StatusCode::kDeadlineExceeded);
  // Room to write: ready at once.
  EXPECT_TRUE(WaitReady(*a, false, true, Deadline::AfterMillis(0)).ok());
  iovec iov{const_cast<char*>("x"), 1};
  ASSERT_TRUE(a->WriteSome(&iov, 1).ok());
  EXPECT_TRUE(WaitReady(*b, true, false, Deadline::AfterMillis(0)).ok());
  EXPECT_TRUE(WaitReady(*b, true, false, Deadline::AfterMillis(0)).ok());  // still readable
  char c;
  ASSERT_TRUE(b->ReadSome(&c, 1).ok());
  EXPECT_EQ(WaitReady(*b, true, false, Deadline::AfterMillis(0)).code(),
            StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace tern::net
