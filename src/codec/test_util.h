// Helpers shared by the codec tests.
#ifndef TERN_CODEC_TEST_UTIL_H_
#define TERN_CODEC_TEST_UTIL_H_

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tern/codec.h"
#include "util/philox.h"

namespace tern::codec::testing {

// n approximately standard normal values times `scale`, reproducible by seed.
inline std::vector<float> Gaussian(size_t n, uint64_t seed, float scale = 1.0f) {
  RngStream rng(seed, RngPurpose::kTest, 0, 0);
  std::vector<float> v(n);
  for (float& x : v) x = rng.Normal() * scale;
  return v;
}

inline std::unique_ptr<Codec> MustCreate(const std::string& spec) {
  Result<std::unique_ptr<Codec>> c = Codec::Create(spec);
  EXPECT_TRUE(c.ok()) << spec << ": " << c.status().ToString();
  return c.ok() ? std::move(*c) : nullptr;
}

inline std::string MustEncode(const Codec& c, const std::vector<float>& x,
                              const CodecContext& ctx = {}) {
  std::string out;
  Status s = c.Encode(x, ctx, &out);
  EXPECT_TRUE(s.ok()) << c.spec() << ": " << s.ToString();
  return out;
}

inline std::vector<float> MustDecode(const Codec& c, const std::string& payload, size_t n,
                                     const CodecContext& ctx = {}) {
  std::vector<float> out(n, NAN);
  Status s = c.Decode(payload, ctx, out);
  EXPECT_TRUE(s.ok()) << c.spec() << ": " << s.ToString();
  return out;
}

inline double RelL2(const std::vector<float>& x, const std::vector<float>& y) {
  double num = 0, den = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    num += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
    den += static_cast<double>(x[i]) * x[i];
  }
  return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

}  // namespace tern::codec::testing

#endif  // TERN_CODEC_TEST_UTIL_H_
