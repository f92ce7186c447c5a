#include "wire/frame.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "util/crc32c.h"

namespace tern::wire {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(FrameTest, HeaderRoundTripsAndVerifies) {
  const std::string a = "hello ", b = "world";
  uint8_t h[kFrameHeaderSize];
  EncodeFrameHeader(7, /*checksum=*/true, Bytes(a), Bytes(b), h);
  auto header = DecodeFrameHeader(h, 100);
  ASSERT_TRUE(header.ok()) << header.status().ToString();
  EXPECT_EQ(header->length, 11u);
  EXPECT_EQ(header->type, 7);
  EXPECT_EQ(header->flags, 0);
  EXPECT_TRUE(VerifyFrame(h, *header, Bytes(a), Bytes(b), true).ok());
  // The split of the payload into pieces does not matter.
  EXPECT_TRUE(VerifyFrame(h, *header, Bytes(a + b), {}, true).ok());
}

TEST(FrameTest, IncrementalChecksumEqualsOneShotAndCatchesCorruption) {
  const std::string a = "data header", b = "payload in several pieces";
  uint8_t one_shot[kFrameHeaderSize], h[kFrameHeaderSize];
  EncodeFrameHeader(16, true, Bytes(a), Bytes(b), one_shot);
  EncodeFrameHeaderPrefix(16, true, static_cast<uint32_t>(a.size() + b.size()), h);
  uint32_t crc = FrameCrcSeed(h, Bytes(a));
  for (size_t i = 0; i < b.size(); i += 4) {
    crc = Crc32c(b.data() + i, std::min<size_t>(4, b.size() - i), crc);
  }
  SetFrameCrc(h, crc);
  EXPECT_EQ(std::memcmp(h, one_shot, kFrameHeaderSize), 0);
  auto header = DecodeFrameHeader(h, 100);
  ASSERT_TRUE(header.ok());
  EXPECT_TRUE(VerifyFrameCrc(*header, crc, true).ok());
  EXPECT_EQ(VerifyFrameCrc(*header, crc ^ 1, true).code(), StatusCode::kDataLoss);
  // A frame without a checksum: refused where required, else accepted.
  EncodeFrameHeaderPrefix(16, false, static_cast<uint32_t>(a.size()), h);
  header = DecodeFrameHeader(h, 100);
  ASSERT_TRUE(header.ok());
  EXPECT_TRUE(VerifyFrameCrc(*header, 0, false).ok());
  EXPECT_EQ(VerifyFrameCrc(*header, 0, true).code(), StatusCode::kDataLoss);
}

TEST(FrameTest, ChecksumMismatchIsDataLoss) {
  std::string p = "payload";
  uint8_t h[kFrameHeaderSize];
  EncodeFrameHeader(16, true, Bytes(p), {}, h);
  auto header = DecodeFrameHeader(h, 100);
  ASSERT_TRUE(header.ok());
  p[3] ^= 0x10;
  EXPECT_EQ(VerifyFrame(h, *header, Bytes(p), {}, true).code(), StatusCode::kDataLoss);
}

TEST(FrameTest, CorruptTypeFailsChecksum) {
  std::string p = "x";
  uint8_t h[kFrameHeaderSize];
  EncodeFrameHeader(16, true, Bytes(p), {}, h);
  h[4] ^= 1;  // type is covered by the crc
  auto header = DecodeFrameHeader(h, 100);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(VerifyFrame(h, *header, Bytes(p), {}, true).code(), StatusCode::kDataLoss);
}

TEST(FrameTest, LengthAboveBoundIsDataLossBeforeAnyRead) {
  uint8_t h[kFrameHeaderSize] = {0xFF, 0xFF, 0xFF, 0x7F, 16, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(DecodeFrameHeader(h, 1 << 20).status().code(), StatusCode::kDataLoss);
}

TEST(FrameTest, UnknownFlagsAreDataLoss) {
  uint8_t h[kFrameHeaderSize];
  EncodeFrameHeader(16, true, {}, {}, h);
  h[6] = 0x80;
  EXPECT_EQ(DecodeFrameHeader(h, 100).status().code(), StatusCode::kDataLoss);
}

TEST(FrameTest, UncheckedFrameRefusedWhereChecksumsAreRequired) {
  std::string p = "data";
  uint8_t h[kFrameHeaderSize];
  EncodeFrameHeader(16, /*checksum=*/false, Bytes(p), {}, h);
  auto header = DecodeFrameHeader(h, 100);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->flags, kFlagNoChecksum);
  EXPECT_TRUE(VerifyFrame(h, *header, Bytes(p), {}, false).ok());
  EXPECT_EQ(VerifyFrame(h, *header, Bytes(p), {}, true).code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace tern::wire
