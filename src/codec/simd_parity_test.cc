// Whole codecs on every kernel table: the payload bytes and the decoded bits
// must not depend on which SIMD extensions the host has (DESIGN.md
// semantic 3), including on NaN, infinities, signed zeros and subnormals.
#include <cfloat>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "codec/kernels.h"
#include "codec/test_util.h"

namespace tern::codec {
namespace {

const char* const kSpecs[] = {
    "fp16", "bf16", "int8:block=256", "int8:block=7", "int8:block=256,rounding=stochastic",
    "int8:block=100,rounding=stochastic", "int4:block=64", "int4:block=33,rounding=stochastic",
    "lut8", "fp4", "fp4:format=e3m0", "fp4:block=16,rounding=stochastic",
    "fp4:format=e3m0,block=20,rounding=stochastic", "qsgd", "qsgd:levels=1,block=7",
    "qsgd:levels=127,block=256", "qsgd:levels=300,block=1000", "qsgd:levels=32767,block=64",
    "terngrad", "terngrad:clip=0", "sign", "sign:scale=l2,block=256",
    "topk:density=0.01", "topk:density=0.01,select=sampled", "topk:density=0.3,select=sampled|gamma",
    "topk:density=0.001,select=sampled|raw", "randk:density=0.05", "compeft:density=0.05,alpha=1",
    "fedzip", "fedzip:density=0.05,clusters=5|gamma"};

std::vector<const Kernels*> AllTables() {
  std::vector<const Kernels*> t = {&ScalarKernels()};
  if (Avx2Kernels()) t.push_back(Avx2Kernels());
  if (Avx512Kernels()) t.push_back(Avx512Kernels());
  return t;
}

// Gaussian values with special ones sprinkled in (not in the first 300).
std::vector<float> Input(size_t n, uint64_t seed, bool specials) {
  std::vector<float> x = testing::Gaussian(n, seed);
  if (!specials) return x;
  const float kSpecial[] = {NAN, -NAN, INFINITY, -INFINITY, 0.0f, -0.0f, FLT_MIN / 8,
                            -FLT_TRUE_MIN, 0.5f, -2.5f, 1e30f, -1e-30f};
  RngStream rng(seed, RngPurpose::kTest, 7, 0);
  for (size_t i = 300; i < n; i += 1 + rng.UniformInt(40)) x[i] = kSpecial[rng.UniformInt(12)];
  return x;
}

size_t FirstDifference(const std::string& a, const std::string& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return i;
}

class SimdParityTest : public ::testing::TestWithParam<const char*> {
 protected:
  void TearDown() override { SetKernelsForTest(nullptr); }
};

TEST_P(SimdParityTest, PayloadAndDecodeMatchTheScalarTable) {
  const std::vector<const Kernels*> tables = AllTables();
  if (tables.size() < 2) GTEST_SKIP() << "no SIMD tables on this CPU";
  auto codec = testing::MustCreate(GetParam());
  ASSERT_NE(codec, nullptr);
  for (size_t n : {size_t{0}, size_t{1}, size_t{17}, size_t{1000}, size_t{70001},
                   size_t{200003}}) {
    for (bool specials : {false, true}) {
      const std::vector<float> x = Input(n, n + 3, specials);
      const CodecContext ctx{.seed = 5, .step = 9, .tensor_id = 2, .offset = 1234, .peer_id = 7};
      std::string want;
      std::vector<float> want_out;
      for (const Kernels* k : tables) {
        SetKernelsForTest(k);
        const std::string payload = testing::MustEncode(*codec, x, ctx);
        std::vector<float> out(n, 3.0f);
        ASSERT_TRUE(codec->DecodeAdd(payload, ctx, out).ok()) << k->name;
        if (k == tables.front()) {
          want = payload;
          want_out = out;
          continue;
        }
        ASSERT_EQ(payload.size(), want.size()) << GetParam() << " on " << k->name;
        ASSERT_EQ(FirstDifference(payload, want), payload.size())
            << GetParam() << " on " << k->name << ", n=" << n << " specials=" << specials
            << ": first differing payload byte";
        ASSERT_EQ(std::memcmp(out.data(), want_out.data(), 4 * n), 0)
            << GetParam() << " decode on " << k->name << ", n=" << n;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, SimdParityTest, ::testing::ValuesIn(kSpecs),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           std::string name;
                           for (const char* c = info.param; *c; ++c) {
                             name += std::isalnum(static_cast<unsigned char>(*c)) ? *c : '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace tern::codec
