// Hostile payloads: garbage, truncation, flipped bits and trailing bytes give
// kDataLoss or kInvalidArgument (or a valid decode), never a crash. The fuzz
// target fuzz/codec_payload_fuzz.cc explores the same space further.
#include <vector>

#include <gtest/gtest.h>

#include "codec/test_util.h"

namespace tern::codec {
namespace {

const char* const kSpecs[] = {
    "fp32", "fp16", "bf16", "int8:block=32", "int4:block=16", "lut8", "fp4:block=8",
    "fp4:format=e3m0", "qsgd:levels=5,block=16", "terngrad", "sign", "sign:block=16",
    "topk:density=0.1", "topk:density=0.1|gamma", "topk:density=0.1|raw",
    "topk:density=0.1,select=sampled", "randk:density=0.1", "compeft:density=0.1",
    "fedzip:density=0.3,clusters=4", "int8|zstd", "topk:density=0.2|rice|zstd:level=1"};

bool Acceptable(const Status& s) {
  return s.ok() || s.code() == StatusCode::kDataLoss || s.code() == StatusCode::kInvalidArgument;
}

TEST(HostileTest, GarbageFlipsAndTruncationsAreRejectedCleanly) {
  RngStream rng(5, RngPurpose::kTest, 0, 0);
  for (const char* spec : kSpecs) {
    SCOPED_TRACE(spec);
    auto codec = testing::MustCreate(spec);
    for (size_t n : {1, 7, 100, 1000}) {
      std::vector<float> x = testing::Gaussian(n, n), out(n);
      std::string good = testing::MustEncode(*codec, x);
      // Truncated and extended payloads.
      for (size_t len = 0; len < good.size(); len += 1 + good.size() / 50) {
        Status s = codec->Decode(std::string_view(good).substr(0, len), {}, out);
        EXPECT_FALSE(s.ok()) << "n=" << n << " len=" << len;
        EXPECT_TRUE(Acceptable(s)) << s.ToString();
      }
      Status s = codec->Decode(good + '\0', {}, out);
      EXPECT_FALSE(s.ok()) << "trailing byte accepted, n=" << n;
      EXPECT_TRUE(Acceptable(s));
      // Flipped bits and random garbage.
      for (int trial = 0; trial < 200; ++trial) {
        std::string bad = good;
        if (!bad.empty()) bad[rng.UniformInt(bad.size())] ^= static_cast<char>(1 << (trial % 8));
        EXPECT_TRUE(Acceptable(codec->DecodeAdd(bad, {}, out)));
        std::string junk(rng.UniformInt(codec->MaxEncodedSize(n) + 16), '\0');
        for (char& c : junk) c = static_cast<char>(rng.NextU32());
        EXPECT_TRUE(Acceptable(codec->Decode(junk, {}, out)));
      }
    }
  }
}

TEST(HostileTest, WrongElementCountIsRejected) {
  for (const char* spec : kSpecs) {
    auto codec = testing::MustCreate(spec);
    std::vector<float> x = testing::Gaussian(1000, 1), out(500);
    Status s = codec->Decode(testing::MustEncode(*codec, x), {}, out);
    EXPECT_FALSE(s.ok()) << spec;
    EXPECT_TRUE(Acceptable(s)) << spec;
  }
}

}  // namespace
}  // namespace tern::codec
