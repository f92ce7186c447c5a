#include "train/idx_reader.h"

#include <gtest/gtest.h>

#include <numeric>

#include "train/dataset.h"
#include "train/test_files.h"
#include "util/clock.h"

namespace tern::train {
namespace {

using testing::IdxBytes;
using testing::ScratchDir;
using testing::WriteBytes;
using testing::WriteGzip;

std::vector<uint8_t> Iota(size_t n) {
  std::vector<uint8_t> v(n);
  std::iota(v.begin(), v.end(), uint8_t{0});
  return v;
}

// Three 4 x 5 images with pixel values 0..59.
std::string ThreeImages() { return IdxBytes({3, 4, 5}, Iota(60)); }

TEST(IdxReaderTest, ReadsPlainFile) {
  ScratchDir dir;
  WriteBytes(dir.File("a.idx"), ThreeImages());
  Result<IdxArray> a = ReadIdx(dir.File("a.idx"), 3);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->dims, (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(a->data, Iota(60));
}

TEST(IdxReaderTest, ReadsGzipFile) {
  ScratchDir dir;
  WriteGzip(dir.File("a.gz"), ThreeImages());
  Result<IdxArray> a = ReadIdx(dir.File("a.gz"), 3);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->dims, (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(a->data, Iota(60));
}

TEST(IdxReaderTest, MaxItemsReadsAPrefix) {
  ScratchDir dir;
  WriteGzip(dir.File("a.gz"), ThreeImages());
  IdxReadOptions opts;
  opts.max_items = 2;
  Result<IdxArray> a = ReadIdx(dir.File("a.gz"), 3, opts);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->dims[0], 2);
  EXPECT_EQ(a->data, Iota(40));
}

TEST(IdxReaderTest, MissingFileIsNotFound) {
  ScratchDir dir;
  EXPECT_EQ(ReadIdx(dir.File("nope.gz"), 3).status().code(), StatusCode::kNotFound);
}

TEST(IdxReaderTest, DirectoryIsInvalidArgument) {
  ScratchDir dir;
  EXPECT_EQ(ReadIdx(dir.path(), 3).status().code(), StatusCode::kInvalidArgument);
}

TEST(IdxReaderTest, BadMagicIsInvalidArgument) {
  ScratchDir dir;
  std::string b = ThreeImages();
  b[0] = 1;
  WriteBytes(dir.File("a"), b);
  EXPECT_EQ(ReadIdx(dir.File("a"), 3).status().code(), StatusCode::kInvalidArgument);
}

TEST(IdxReaderTest, NonByteElementTypeIsInvalidArgument) {
  ScratchDir dir;
  std::string b = ThreeImages();
  b[2] = 0x0D;  // float
  WriteBytes(dir.File("a"), b);
  EXPECT_EQ(ReadIdx(dir.File("a"), 3).status().code(), StatusCode::kInvalidArgument);
}

TEST(IdxReaderTest, WrongRankIsInvalidArgument) {
  ScratchDir dir;
  WriteBytes(dir.File("a"), ThreeImages());
  EXPECT_EQ(ReadIdx(dir.File("a"), 1).status().code(), StatusCode::kInvalidArgument);
}

TEST(IdxReaderTest, TruncatedHeaderIsDataLoss) {
  ScratchDir dir;
  WriteBytes(dir.File("a"), ThreeImages().substr(0, 3));
  EXPECT_EQ(ReadIdx(dir.File("a"), 3).status().code(), StatusCode::kDataLoss);
  WriteBytes(dir.File("b"), ThreeImages().substr(0, 10));  // dims cut short
  EXPECT_EQ(ReadIdx(dir.File("b"), 3).status().code(), StatusCode::kDataLoss);
}

TEST(IdxReaderTest, TruncatedPlainDataIsDataLoss) {
  ScratchDir dir;
  std::string b = ThreeImages();
  WriteBytes(dir.File("a"), b.substr(0, b.size() - 1));
  Status s = ReadIdx(dir.File("a"), 3).status();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("truncated"), std::string_view::npos) << s.ToString();
}

TEST(IdxReaderTest, TrailingBytesAreDataLoss) {
  ScratchDir dir;
  WriteBytes(dir.File("a"), ThreeImages() + "x");
  EXPECT_EQ(ReadIdx(dir.File("a"), 3).status().code(), StatusCode::kDataLoss);
  WriteGzip(dir.File("b.gz"), ThreeImages() + "x");
  EXPECT_EQ(ReadIdx(dir.File("b.gz"), 3).status().code(), StatusCode::kDataLoss);
}

TEST(IdxReaderTest, HugeDimensionIsDataLossBeforeAllocating) {
  ScratchDir dir;
  // 4 billion images of 4096 x 4096 would be 64 PB: refused from the header.
  WriteBytes(dir.File("a"), IdxBytes({0xFFFFFFFFu, 4096, 4096}, {}));
  EXPECT_EQ(ReadIdx(dir.File("a"), 3).status().code(), StatusCode::kDataLoss);
  WriteBytes(dir.File("b"), IdxBytes({2, 0, 5}, {}));  // zero inner dimension
  EXPECT_EQ(ReadIdx(dir.File("b"), 3).status().code(), StatusCode::kDataLoss);
}

TEST(IdxReaderTest, GzipDeclaringMoreThanItHoldsIsDataLoss) {
  ScratchDir dir;
  // The header claims 1000 images, the stream holds 3: the gzip trailer's
  // length disagrees, so nothing is allocated for 1000.
  WriteGzip(dir.File("a.gz"), IdxBytes({1000, 4, 5}, Iota(60)));
  Status s = ReadIdx(dir.File("a.gz"), 3).status();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("gzip trailer"), std::string_view::npos) << s.ToString();
}

TEST(IdxReaderTest, TruncatedGzipIsDataLoss) {
  ScratchDir dir;
  WriteGzip(dir.File("a.gz"), IdxBytes({200, 10, 10}, std::vector<uint8_t>(20000, 7)));
  std::string gz = testing::ReadBytes(dir.File("a.gz"));
  for (size_t keep : {gz.size() / 2, gz.size() - 1, size_t{12}}) {
    WriteBytes(dir.File("cut.gz"), gz.substr(0, keep));
    EXPECT_EQ(ReadIdx(dir.File("cut.gz"), 3).status().code(), StatusCode::kDataLoss) << keep;
  }
}

TEST(IdxReaderTest, CorruptGzipCrcIsDataLoss) {
  ScratchDir dir;
  WriteGzip(dir.File("a.gz"), ThreeImages());
  std::string gz = testing::ReadBytes(dir.File("a.gz"));
  gz[gz.size() - 8] ^= 0x55;  // first byte of the CRC32
  WriteBytes(dir.File("bad.gz"), gz);
  EXPECT_EQ(ReadIdx(dir.File("bad.gz"), 3).status().code(), StatusCode::kDataLoss);
}

TEST(IdxReaderTest, CorruptDeflateStreamIsDataLoss) {
  ScratchDir dir;
  std::vector<uint8_t> noisy(5000);
  for (size_t i = 0; i < noisy.size(); ++i) noisy[i] = static_cast<uint8_t>(i * 2654435761u >> 13);
  WriteGzip(dir.File("a.gz"), IdxBytes({50, 10, 10}, noisy));
  std::string gz = testing::ReadBytes(dir.File("a.gz"));
  int data_loss = 0;
  for (size_t at = 12; at + 8 < gz.size(); at += gz.size() / 16) {
    std::string bad = gz;
    bad[at] ^= 0xFF;
    WriteBytes(dir.File("bad.gz"), bad);
    Status s = ReadIdx(dir.File("bad.gz"), 3).status();
    // A flipped byte may also hit the IDX header inside the stream.
    EXPECT_TRUE(s.code() == StatusCode::kDataLoss || s.code() == StatusCode::kInvalidArgument)
        << at << ": " << s.ToString();
    data_loss += s.code() == StatusCode::kDataLoss;
  }
  EXPECT_GT(data_loss, 0);
}

TEST(LoadImageSetTest, LabelOutOfRangeIsDataLoss) {
  ScratchDir dir;
  WriteGzip(dir.File("i.gz"), ThreeImages());
  WriteGzip(dir.File("l.gz"), IdxBytes({3}, {1, 10, 2}));
  Status s = LoadImageSet(dir.File("i.gz"), dir.File("l.gz"), 10).status();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
}

TEST(LoadImageSetTest, CountMismatchIsDataLoss) {
  ScratchDir dir;
  WriteGzip(dir.File("i.gz"), ThreeImages());
  WriteGzip(dir.File("l.gz"), IdxBytes({2}, {1, 2}));
  EXPECT_EQ(LoadImageSet(dir.File("i.gz"), dir.File("l.gz"), 10).status().code(), StatusCode::kDataLoss);
}

TEST(LoadFashionMnistTest, MissingDirectoryIsNotFoundWithInstallHint) {
  FashionMnistOptions opts;
  opts.dir = "/nonexistent/fashion-mnist";
  Status s = LoadFashionMnist(opts).status();
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("apt-get install dataset-fashion-mnist"), std::string_view::npos) << s.ToString();
}

// The real files from the Debian package (a declared dependency).
TEST(LoadFashionMnistTest, LoadsTheRealDataQuickly) {
  double t0 = NowSeconds();
  Result<FashionMnist> d = LoadFashionMnist();
  double seconds = NowSeconds() - t0;
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->train.count, 60000);
  EXPECT_EQ(d->test.count, 10000);
  EXPECT_EQ(d->train.rows, 28);
  EXPECT_EQ(d->train.cols, 28);
  std::vector<int> per_class(10, 0);
  for (uint8_t l : d->train.labels) ++per_class[l];
  for (int c : per_class) EXPECT_EQ(c, 6000);  // Fashion-MNIST is balanced
  EXPECT_LT(seconds, 10.0);                    // liveness only; about 0.5 s
}

}  // namespace
}  // namespace tern::train
