#include "util/bytes.h"

#include <gtest/gtest.h>

namespace tern {
namespace {

TEST(BytesTest, RoundTripIsLittleEndian) {
  std::string buf;
  ByteWriter w(&buf);
  w.U8(1);
  w.U16(0x0302);
  w.U32(0x07060504);
  w.U64(0x0F0E0D0C0B0A0908ull);
  w.F32(1.5f);
  w.LengthPrefixed("hi");
  ASSERT_EQ(buf.size(), 1u + 2 + 4 + 8 + 4 + 4 + 2);
  for (int i = 0; i < 15; ++i) EXPECT_EQ(static_cast<uint8_t>(buf[i]), i + 1);
  ByteReader r(buf);
  EXPECT_EQ(*r.U8(), 1);
  EXPECT_EQ(*r.U16(), 0x0302);
  EXPECT_EQ(*r.U32(), 0x07060504u);
  EXPECT_EQ(*r.U64(), 0x0F0E0D0C0B0A0908ull);
  EXPECT_EQ(*r.F32(), 1.5f);
  EXPECT_EQ(*r.LengthPrefixed(16), "hi");
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(BytesTest, TruncatedInputIsDataLoss) {
  std::string buf = "\x01\x02\x03";
  ByteReader r(buf);
  EXPECT_EQ(r.U32().status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(r.remaining(), 3u);  // a failed read consumes nothing
}

TEST(BytesTest, OversizedLengthPrefixIsDataLossBeforeReading) {
  std::string buf;
  ByteWriter w(&buf);
  w.U32(0xFFFFFFFFu);
  ByteReader r(buf);
  EXPECT_EQ(r.LengthPrefixed(1024).status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace tern
