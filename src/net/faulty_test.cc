#include "net/faulty.h"

#include <gtest/gtest.h>

#include <thread>

#include "net/blocking.h"
#include "net/fake.h"

namespace tern::net {
namespace {

struct Pair {
  std::unique_ptr<Conn> writer, reader;
};
Pair Make(FaultSpec f) {
  auto [a, b] = FakeConnPair(1 << 16, "a", "b");
  return {WithFaults(std::move(a), f), std::move(b)};
}

TEST(FaultyConnTest, CorruptByteIsDataLossAtTheReader) {
  FaultSpec f;
  f.corrupt_at_byte = 20;
  Pair p = Make(f);
  const Deadline d = Deadline::AfterMillis(2000);
  ASSERT_TRUE(SendFrame(*p.writer, 300, std::string(100, 'a'), d).ok());
  EXPECT_EQ(RecvFrame(*p.reader, 1000, d).status().code(), StatusCode::kDataLoss);
}

TEST(FaultyConnTest, CloseAfterBytesIsUnavailableOnBothEnds) {
  FaultSpec f;
  f.close_after_bytes = 50;
  Pair p = Make(f);
  const Deadline d = Deadline::AfterMillis(2000);
  EXPECT_EQ(SendFrame(*p.writer, 300, std::string(100, 'a'), d).code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(RecvFrame(*p.reader, 1000, d).status().code(), StatusCode::kUnavailable);
}

TEST(FaultyConnTest, DroppedBytesStarveTheReaderUntilItsDeadline) {
  FaultSpec f;
  f.drop_after_bytes = 10;
  Pair p = Make(f);
  ASSERT_TRUE(SendFrame(*p.writer, 300, std::string(100, 'a'), Deadline::AfterMillis(1000)).ok());
  EXPECT_EQ(RecvFrame(*p.reader, 1000, Deadline::AfterMillis(100)).status().code(),
            StatusCode::kDeadlineExceeded);
}

TEST(FaultyConnTest, WriteDelaySlowsEveryWrite) {
  FaultSpec f;
  f.write_delay = std::chrono::milliseconds(30);
  Pair p = Make(f);
  const auto t0 = Clock::now();
  ASSERT_TRUE(SendFrame(*p.writer, 300, "x", Deadline::AfterMillis(1000)).ok());
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(30));
  auto fr = RecvFrame(*p.reader, 1000, Deadline::AfterMillis(1000));
  ASSERT_TRUE(fr.ok());
  EXPECT_EQ(fr->payload, "x");
}

}  // namespace
}  // namespace tern::net
