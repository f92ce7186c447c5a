// Every codec: encode/decode within its stated error bound, across sizes that
// are not multiples of the block size, and DecodeAdd == Decode + add.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <functional>

#include <gtest/gtest.h>

#include "codec/codec_util.h"
#include "codec/kernels.h"
#include "codec/test_util.h"

namespace tern::codec {
namespace {

using testing::Gaussian;
using testing::MustCreate;
using testing::MustDecode;
using testing::MustEncode;

const size_t kSizes[] = {0, 1, 7, 1023, (size_t{1} << 20) + 3};

float BlockMax(const std::vector<float>& x, size_t i, size_t block) {
  size_t s = i / block * block, e = std::min(x.size(), s + block);
  float m = 0;
  for (size_t j = s; j < e; ++j) m = std::max(m, std::fabs(x[j]));
  return m;
}

// Checks y = D(C(x)) for one codec; returns a failure description or "".
using Check = std::function<std::string(const std::vector<float>& x, const std::vector<float>& y)>;

std::string PerElement(const std::vector<float>& x, const std::vector<float>& y,
                       const std::function<double(size_t)>& bound) {
  for (size_t i = 0; i < x.size(); ++i) {
    double err = std::fabs(static_cast<double>(x[i]) - y[i]);
    if (!(err <= bound(i))) {
      return "element " + std::to_string(i) + ": x=" + std::to_string(x[i]) +
             " y=" + std::to_string(y[i]) + " bound=" + std::to_string(bound(i));
    }
  }
  return "";
}

Check BlockQuant(size_t block, double steps_of_max) {
  return [=](const std::vector<float>& x, const std::vector<float>& y) {
    return PerElement(x, y, [&](size_t i) { return BlockMax(x, i, block) * steps_of_max * 1.0001; });
  };
}

Check Fp4Bound(size_t block, double rel, double floor_of_scale, double top) {
  return [=](const std::vector<float>& x, const std::vector<float>& y) {
    return PerElement(x, y, [&](size_t i) {
      double scale = std::ldexp(1.0, kernel_detail::Fp4Exponent(BlockMax(x, i, block), top == 1.0));
      return std::max(rel * std::fabs(x[i]), floor_of_scale * scale) * 1.0001;
    });
  };
}

// The kept set: exactly the values that decode to themselves, all of them
// at least as large as every dropped one.
Check TopKCheck(double density, bool exact) {
  return [=](const std::vector<float>& x, const std::vector<float>& y) -> std::string {
    size_t kept = 0;
    float min_kept = INFINITY, max_dropped = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      if (y[i] != 0.0f) {
        if (y[i] != x[i]) return "kept value changed at " + std::to_string(i);
        ++kept;
        min_kept = std::min(min_kept, std::fabs(x[i]));
      } else {
        max_dropped = std::max(max_dropped, std::fabs(x[i]));
      }
    }
    size_t k = KeepCount(density, x.size());
    if (exact && kept != k) return "kept " + std::to_string(kept) + " of k=" + std::to_string(k);
    if (!exact && (kept < k * 7 / 10 || kept > k + k * 3 / 10 + 1)) {
      return "sampled kept " + std::to_string(kept) + " for k=" + std::to_string(k);
    }
    if (kept > 0 && min_kept < max_dropped) return "dropped a larger value";
    return "";
  };
}

struct Case {
  std::string spec;
  Check check;
};

std::vector<Case> Cases() {
  auto exact = [](const std::vector<float>& x, const std::vector<float>& y) {
    return x == y ? std::string() : std::string("not lossless");
  };
  auto rel = [](double r) {
    return [r](const std::vector<float>& x, const std::vector<float>& y) {
      return PerElement(x, y, [&](size_t i) { return r * std::fabs(x[i]); });
    };
  };
  auto sign = [](const std::vector<float>& x, const std::vector<float>& y) -> std::string {
    double mean = 0;
    for (float v : x) mean += std::fabs(v);
    mean /= std::max<size_t>(1, x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      if (std::signbit(x[i]) != std::signbit(y[i])) return "sign differs";
      if (std::fabs(std::fabs(y[i]) - mean) > 1e-5 * mean) return "scale is not mean|x|";
    }
    return "";
  };
  auto ternary = [](const std::vector<float>& x, const std::vector<float>& y) -> std::string {
    float s = 0;
    for (float v : y) s = std::max(s, std::fabs(v));
    for (size_t i = 0; i < x.size(); ++i) {
      if (y[i] != 0 && (std::fabs(y[i]) != s || std::signbit(y[i]) != std::signbit(x[i]))) {
        return "not a signed ternary value";
      }
    }
    return "";
  };
  auto lut8 = [](const std::vector<float>& x, const std::vector<float>& y) -> std::string {
    double sq = 0;
    for (float v : x) sq += static_cast<double>(v) * v;
    double scale = 6 * std::sqrt(sq / std::max<double>(1, x.size() - 1.0)) / 256;
    return PerElement(x, y, [&](size_t i) {
      // Bins 0 and 255 also hold the clipped values: their means may be far.
      return std::fabs(x[i]) < 126.5 * scale ? scale * 1.0001 : INFINITY;
    });
  };
  auto qsgd = [](size_t block, int s) {
    return [=](const std::vector<float>& x, const std::vector<float>& y) {
      return PerElement(x, y, [&](size_t i) {
        size_t b0 = i / block * block, e = std::min(x.size(), b0 + block);
        double sq = 0;
        for (size_t j = b0; j < e; ++j) sq += static_cast<double>(x[j]) * x[j];
        return std::sqrt(sq) / s * 1.0001;
      });
    };
  };
  auto compeft = [](const std::vector<float>& x, const std::vector<float>& y) -> std::string {
    if (x.size() < 2) return "";
    size_t kept = 0;
    float mag = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      if (y[i] == 0) continue;
      if (mag == 0) mag = std::fabs(y[i]);
      if (std::fabs(y[i]) != mag || std::signbit(y[i]) != std::signbit(x[i])) return "bad value";
      ++kept;
    }
    size_t want = std::min(x.size(), static_cast<size_t>(std::floor(x.size() * 0.05)) + 1);
    return kept == want ? "" : "kept " + std::to_string(kept);
  };
  auto fedzip = [](const std::vector<float>& x, const std::vector<float>& y) -> std::string {
    size_t kept = 0;
    for (size_t i = 0; i < x.size(); ++i) kept += y[i] != 0;
    if (kept > KeepCount(0.2, x.size())) return "kept too many";
    // Every kept value decodes to its nearest centroid (k-means assignment).
    std::vector<float> centroids;
    for (float v : y) {
      if (v != 0 && std::find(centroids.begin(), centroids.end(), v) == centroids.end()) {
        centroids.push_back(v);
      }
    }
    if (centroids.size() > 3) return "more than 3 centroids";
    for (size_t i = 0; i < x.size(); ++i) {
      if (y[i] == 0) continue;
      for (float c : centroids) {
        if (std::fabs(x[i] - c) < std::fabs(x[i] - y[i])) return "not the nearest centroid";
      }
    }
    return "";
  };
  return {
      {"fp32", exact},
      {"fp32|zstd", exact},
      {"fp16", [](const std::vector<float>& x, const std::vector<float>& y) {
         // Relative below the half-precision normal range, absolute (2^-25) in it.
         return PerElement(x, y, [&](size_t i) {
           return std::max(std::fabs(static_cast<double>(x[i])) / 2048, std::ldexp(1.0, -25));
         });
       }},
      {"bf16", rel(1.0 / 256)},
      {"bf16|zstd:level=1", rel(1.0 / 256)},
      {"int8", BlockQuant(256, 0.5 / 127)},
      {"int8:block=100", BlockQuant(100, 0.5 / 127)},
      {"int8:rounding=stochastic", BlockQuant(256, 1.0 / 127)},
      {"int4", BlockQuant(64, 0.5 / 7)},
      {"int4:block=33,rounding=stochastic", BlockQuant(33, 1.0 / 7)},
      {"fp4", Fp4Bound(32, 0.25, 0.25, 6)},
      {"fp4:block=17", Fp4Bound(17, 0.25, 0.25, 6)},
      {"fp4:format=e3m0", Fp4Bound(32, 1.0 / 3, 1.0 / 128, 1)},
      {"fp4:rounding=stochastic", Fp4Bound(32, 0.5, 0.5, 6)},
      {"fp4:format=e3m0,rounding=stochastic", Fp4Bound(32, 1.0, 1.0 / 64, 1)},
      {"lut8", lut8},
      {"qsgd", qsgd(256, 15)},
      {"qsgd:levels=3,block=50", qsgd(50, 3)},
      {"terngrad", ternary},
      {"sign", sign},
      {"topk:density=0.01", TopKCheck(0.01, true)},
      {"topk:density=0.1|gamma", TopKCheck(0.1, true)},
      {"topk:density=0.01|raw|zstd", TopKCheck(0.01, true)},
      {"topk:density=0.01,select=sampled", TopKCheck(0.01, false)},
      {"topk:density=0.3|rice:k=2", TopKCheck(0.3, true)},
      {"compeft:density=0.05", compeft},
      {"compeft:density=0.05|gamma", compeft},
      {"fedzip", fedzip},
  };
}

class RoundTripTest : public ::testing::TestWithParam<size_t> {};

TEST_P(RoundTripTest, EveryCodecWithinItsBound) {
  const size_t n = GetParam();
  const std::vector<float> x = Gaussian(n, 1000 + n);
  CodecContext ctx{.seed = 7, .step = 3, .tensor_id = 11, .offset = 0, .peer_id = 2};
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.spec);
    auto codec = MustCreate(c.spec);
    ASSERT_NE(codec, nullptr);
    std::string payload = MustEncode(*codec, x, ctx);
    EXPECT_LE(payload.size(), codec->MaxEncodedSize(n));
    std::vector<float> y = MustDecode(*codec, payload, n, ctx);
    EXPECT_EQ(c.check(x, y), "");
  }
}

TEST_P(RoundTripTest, DecodeAddEqualsDecodeThenAdd) {
  const size_t n = GetParam();
  const std::vector<float> x = Gaussian(n, 2000 + n);
  const std::vector<float> base = Gaussian(n, 3000 + n);
  CodecContext ctx{.seed = 1, .step = 2, .tensor_id = 3, .offset = 4, .peer_id = 5};
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.spec);
    auto codec = MustCreate(c.spec);
    std::string payload = MustEncode(*codec, x, ctx);
    std::vector<float> y = MustDecode(*codec, payload, n, ctx);
    std::vector<float> want = base, got = base;
    for (size_t i = 0; i < n; ++i) want[i] += y[i];
    ASSERT_TRUE(codec->DecodeAdd(payload, ctx, got).ok());
    EXPECT_EQ(std::memcmp(want.data(), got.data(), 4 * n), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, RoundTripTest, ::testing::ValuesIn(kSizes));

TEST(RoundTripTest, EncodeIsDeterministicAndRandomnessFollowsTheContext) {
  const std::vector<float> x = Gaussian(5000, 9);
  auto codec = MustCreate("int8:rounding=stochastic");
  CodecContext a{.seed = 1, .step = 1, .tensor_id = 1, .offset = 0, .peer_id = 1};
  CodecContext b = a;
  b.peer_id = 2;
  EXPECT_EQ(MustEncode(*codec, x, a), MustEncode(*codec, x, a));
  EXPECT_NE(MustEncode(*codec, x, a), MustEncode(*codec, x, b));
  // random-k ignores the peer: every rank keeps the same coordinates.
  auto randk = MustCreate("randk:density=0.1");
  std::vector<float> ones(5000, 1.0f);
  std::vector<float> ya = MustDecode(*randk, MustEncode(*randk, ones, a), 5000, a);
  std::vector<float> yb = MustDecode(*randk, MustEncode(*randk, ones, b), 5000, b);
  EXPECT_EQ(ya, yb);
}

TEST(RoundTripTest, StochasticNoiseDoesNotDependOnChunking) {
  const std::vector<float> x = Gaussian(4096, 10);
  auto codec = MustCreate("int8:block=256,rounding=stochastic");
  CodecContext ctx{.seed = 5, .step = 6, .tensor_id = 7, .offset = 0, .peer_id = 8};
  std::vector<float> whole = MustDecode(*codec, MustEncode(*codec, x, ctx), 4096, ctx);
  std::vector<float> first(x.begin(), x.begin() + 1024), second(x.begin() + 1024, x.end());
  CodecContext c2 = ctx;
  c2.offset = 1024;
  std::vector<float> y1 = MustDecode(*codec, MustEncode(*codec, first, ctx), 1024, ctx);
  std::vector<float> y2 = MustDecode(*codec, MustEncode(*codec, second, c2), 3072, c2);
  y1.insert(y1.end(), y2.begin(), y2.end());
  EXPECT_EQ(whole, y1);
}

TEST(RoundTripTest, EncodeIntoTooSmallBufferIsInvalidArgument) {
  auto codec = MustCreate("int8");
  std::vector<float> x(100, 1.0f);
  std::vector<uint8_t> out(codec->MaxEncodedSize(100) - 1);
  Result<size_t> r = codec->Encode(x, {}, std::span<uint8_t>(out));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(RoundTripTest, NonFiniteInputsGiveDecodablePayloads) {
  std::vector<float> x = Gaussian(1000, 11);
  x[3] = NAN;
  x[100] = INFINITY;
  x[500] = -INFINITY;
  x[700] = FLT_MIN / 4;
  for (const Case& c : Cases()) {
    auto codec = MustCreate(c.spec);
    std::string payload = MustEncode(*codec, x);
    std::vector<float> y(x.size());
    EXPECT_TRUE(codec->Decode(payload, {}, y).ok()) << c.spec;
  }
}

}  // namespace
}  // namespace tern::codec
