#include "tern/codec_blob.h"

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "codec/test_util.h"
#include "util/bytes.h"
#include "util/crc32c.h"

namespace tern {
namespace {

using codec::testing::Gaussian;
using codec::testing::MustCreate;

std::string Blob(const std::string& spec, std::vector<float>& x, Shape shape,
                 BlobOptions opt = {}) {
  auto c = MustCreate(spec);
  std::string blob;
  CodecContext ctx{.seed = 1, .step = 2, .tensor_id = 3, .offset = 0};
  EXPECT_TRUE(EncodeBlob(*c, TensorView(x.data(), DType::kF32, shape), ctx, &blob, opt).ok());
  return blob;
}

TEST(BlobTest, RoundTripKeepsHeaderAndValues) {
  std::vector<float> x = Gaussian(6 * 7, 1);
  std::string blob = Blob("fp32", x, Shape({6, 7}));
  Result<DecodedBlob> d = DecodeBlob(blob);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->values, x);
  EXPECT_EQ(d->header.shape, Shape({6, 7}));
  EXPECT_EQ(d->header.dtype, DType::kF32);
  EXPECT_EQ(d->header.spec, "fp32");
  EXPECT_EQ(d->header.ctx.step, 2u);
  EXPECT_EQ(d->header.total_bytes, blob.size());
}

TEST(BlobTest, ChunkedRandomKDecodesWithTheStoredContext) {
  std::vector<float> x = Gaussian(10000, 2);
  std::string blob = Blob("randk:density=0.1", x, Shape::Flat(10000), {.chunk_elements = 3000});
  Result<DecodedBlob> d = DecodeBlob(blob);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->header.payload_sizes.size(), 4u);
  size_t kept = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (d->values[i] != 0) {
      ++kept;
      EXPECT_NEAR(d->values[i], x[i] * 10, 1e-4 * std::fabs(x[i] * 10));
    }
  }
  EXPECT_EQ(kept, 1000u);
}

TEST(BlobTest, HalfInputsRecordTheirDtype) {
  std::vector<float> x = Gaussian(100, 3);
  std::vector<uint16_t> h(100);
  FloatToHalf(x.data(), h.data(), 100);
  auto c = MustCreate("int8");
  std::string blob;
  ASSERT_TRUE(EncodeBlob(*c, TensorView(h.data(), DType::kF16, Shape::Flat(100)), {}, &blob).ok());
  Result<DecodedBlob> d = DecodeBlob(blob);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->header.dtype, DType::kF16);
  for (size_t i = 0; i < 100; ++i) EXPECT_NEAR(d->values[i], x[i], 0.02);
}

TEST(BlobTest, EmptyAndScalarTensors) {
  std::vector<float> none;
  Result<DecodedBlob> d = DecodeBlob(Blob("topk", none, Shape::Flat(0)));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(d->values.empty());
  std::vector<float> one = {2.5f};
  d = DecodeBlob(Blob("fp16", one, Shape()));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->values, one);
}

TEST(BlobTest, EveryTruncationIsDataLoss) {
  std::vector<float> x = Gaussian(300, 4);
  std::string blob = Blob("topk:density=0.1|rice", x, Shape::Flat(300), {.chunk_elements = 100});
  for (size_t len = 0; len < blob.size(); ++len) {
    Result<DecodedBlob> d = DecodeBlob(std::string_view(blob).substr(0, len));
    ASSERT_FALSE(d.ok()) << len;
    EXPECT_EQ(d.status().code(), StatusCode::kDataLoss) << len << " " << d.status().ToString();
  }
  EXPECT_EQ(DecodeBlob(blob + "x").status().code(), StatusCode::kDataLoss);
}

TEST(BlobTest, EveryFlippedBitIsCaught) {
  std::vector<float> x = Gaussian(64, 5);
  std::string blob = Blob("int4", x, Shape({8, 8}));
  for (size_t i = 0; i < blob.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = blob;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      Result<DecodedBlob> d = DecodeBlob(bad);
      ASSERT_FALSE(d.ok()) << "byte " << i << " bit " << bit;
      EXPECT_TRUE(d.status().code() == StatusCode::kDataLoss ||
                  d.status().code() == StatusCode::kInvalidArgument);
    }
  }
}

// Rewrites a header field and fixes the header checksum, as a hostile
// writer would.
std::string Patch(std::string blob, size_t at, const void* bytes, size_t n) {
  std::memcpy(blob.data() + at, bytes, n);
  size_t crc_at = 0;
  {
    ByteReader r(blob);
    r.Skip(8).IgnoreError();
    uint16_t spec_len = r.U16().value_or(0);
    r.Skip(2 + spec_len).IgnoreError();
    uint8_t rank = static_cast<uint8_t>(blob[7]);
    r.Skip(8 * rank + 40).IgnoreError();
    uint32_t count = r.U32().value_or(0);
    crc_at = blob.size() - r.remaining() + 8 * size_t{count};
  }
  if (crc_at + 4 <= blob.size()) StoreLE32(reinterpret_cast<uint8_t*>(blob.data()) + crc_at,
                                           Crc32c(blob.data(), crc_at));
  return blob;
}

TEST(BlobTest, WellFormedButUnsupportedHeadersAreInvalidArgument) {
  std::vector<float> x = Gaussian(16, 6);
  std::string blob = Blob("int8", x, Shape::Flat(16));
  const uint16_t v2 = 2;
  EXPECT_EQ(DecodeBlob(Patch(blob, 4, &v2, 2)).status().code(), StatusCode::kInvalidArgument);
  const uint8_t dtype = 9;
  EXPECT_EQ(DecodeBlob(Patch(blob, 6, &dtype, 1)).status().code(), StatusCode::kInvalidArgument);
  const char spec[4] = {'i', 'n', 't', '9'};
  EXPECT_EQ(DecodeBlob(Patch(blob, 12, spec, 4)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeBlob(blob, /*max_elements=*/15).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeBlob("NOPE" + blob.substr(4)).status().code(), StatusCode::kDataLoss);
}

TEST(BlobTest, HostileShapeNeverAllocates) {
  std::vector<float> x = Gaussian(16, 7);
  std::string blob = Blob("int8", x, Shape::Flat(16));
  const size_t dim_at = 12 + blob[8];  // after the spec
  const uint64_t huge = uint64_t{1} << 62;
  Result<DecodedBlob> d = DecodeBlob(Patch(blob, dim_at, &huge, 8));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tern
