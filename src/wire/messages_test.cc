#include "wire/messages.h"

#include <gtest/gtest.h>

namespace tern::wire {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(MessagesTest, HelloRoundTrips) {
  Hello m;
  m.channel = 0;
  m.run_id = 0x1122334455667788ull;
  m.revision = 3;
  m.from_peer = 5;
  m.to_peer = 9;
  m.stream = 2;
  m.stream_count = 4;
  m.flags = kHelloChecksums;
  m.auth = "nonce";
  std::string buf;
  EncodeHello(m, &buf);
  auto d = DecodeHello(Bytes(buf));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->run_id, m.run_id);
  EXPECT_EQ(d->revision, 3u);
  EXPECT_EQ(d->from_peer, 5u);
  EXPECT_EQ(d->to_peer, 9u);
  EXPECT_EQ(d->stream, 2);
  EXPECT_EQ(d->stream_count, 4);
  EXPECT_EQ(d->flags, kHelloChecksums);
  EXPECT_EQ(d->auth, "nonce");
}

TEST(MessagesTest, HelloWithBadMagicIsDataLoss) {
  std::string buf;
  EncodeHello(Hello{}, &buf);
  buf[0] = 'X';
  EXPECT_EQ(DecodeHello(Bytes(buf)).status().code(), StatusCode::kDataLoss);
}

TEST(MessagesTest, EveryTruncationIsDataLoss) {
  std::string buf;
  Hello m;
  m.auth = "abc";
  EncodeHello(m, &buf);
  for (size_t n = 0; n < buf.size(); ++n) {
    EXPECT_EQ(DecodeHello(Bytes(buf.substr(0, n))).status().code(), StatusCode::kDataLoss) << n;
  }
  EXPECT_EQ(DecodeHello(Bytes(buf + "!")).status().code(), StatusCode::kDataLoss);
}

TEST(MessagesTest, OversizedAuthLengthIsDataLoss) {
  std::string buf;
  EncodeHello(Hello{}, &buf);
  // The auth length prefix is the last 4 bytes (empty auth): claim 1 GiB.
  buf[buf.size() - 1] = 0x40;
  EXPECT_EQ(DecodeHello(Bytes(buf)).status().code(), StatusCode::kDataLoss);
}

TEST(MessagesTest, HelloAckRoundTripsAndRejectsUnknownResult) {
  HelloAck m;
  m.result = HelloResult::kRevisionMismatch;
  m.revision = 8;
  m.peer_id = 2;
  m.message = "behind";
  std::string buf;
  EncodeHelloAck(m, &buf);
  auto d = DecodeHelloAck(Bytes(buf));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->result, HelloResult::kRevisionMismatch);
  EXPECT_EQ(d->revision, 8u);
  EXPECT_EQ(d->message, "behind");
  buf[6] = 99;
  EXPECT_EQ(DecodeHelloAck(Bytes(buf)).status().code(), StatusCode::kDataLoss);
}

TEST(MessagesTest, AbortRoundTripsAndRejectsOkCode) {
  Abort m{static_cast<uint16_t>(StatusCode::kUnavailable), 4, "peer 4 closed"};
  std::string buf;
  EncodeAbort(m, &buf);
  auto d = DecodeAbort(Bytes(buf));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->code, static_cast<uint16_t>(StatusCode::kUnavailable));
  EXPECT_EQ(d->culprit, 4u);
  EXPECT_EQ(d->message, "peer 4 closed");
  buf[0] = 0;
  EXPECT_EQ(DecodeAbort(Bytes(buf)).status().code(), StatusCode::kDataLoss);
}

TEST(MessagesTest, DataHeaderRoundTripsAndChecksReservedBytes) {
  DataHeader h{0x0102030405060708ull, 0xCAFEBABE, 2, 513, 77};
  uint8_t b[kDataHeaderSize];
  EncodeDataHeader(h, b);
  auto d = DecodeDataHeader(b);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->seq, h.seq);
  EXPECT_EQ(d->signature, h.signature);
  EXPECT_EQ(d->phase, 2);
  EXPECT_EQ(d->step, 513);
  EXPECT_EQ(d->chunk, 77u);
  b[21] = 1;
  EXPECT_EQ(DecodeDataHeader(b).status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace tern::wire
