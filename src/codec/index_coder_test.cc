#include "codec/index_coder.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "codec/kernels.h"
#include "util/philox.h"

namespace tern::codec {
namespace {

// Positions of an i.i.d. Bernoulli(p) mask over n values.
std::vector<uint32_t> RandomPositions(size_t n, double p, uint64_t seed) {
  RngStream rng(seed, RngPurpose::kTest, 0, 0);
  std::vector<uint32_t> pos;
  for (size_t i = 0; i < n; ++i) {
    if (rng.UniformDouble() < p) pos.push_back(static_cast<uint32_t>(i));
  }
  return pos;
}

std::vector<uint8_t> Encode(const IndexCoding& c, const std::vector<uint32_t>& pos, size_t n) {
  std::vector<uint8_t> buf((MaxPositionBits(c, pos.size(), n) + 7) / 8 + 1);
  BitWriter w(buf.data(), buf.size());
  EncodePositions(c, pos.data(), pos.size(), &w);
  buf.resize(w.Finish());
  return buf;
}

Status Decode(const IndexCoding& c, const std::vector<uint8_t>& buf, size_t count, size_t n,
              std::vector<uint32_t>* out) {
  out->clear();
  BitReader r(buf.data(), buf.size());
  TERN_RETURN_IF_ERROR(DecodePositions(c, &r, count, n, [&](size_t, uint32_t p) {
    out->push_back(p);
    return true;
  }));
  if (!r.AtPaddedEnd()) return DataLossError("trailing");
  return OkStatus();
}

const IndexCoding kCodings[] = {{IndexKind::kRaw, -1},
                                {IndexKind::kRice, -1},
                                {IndexKind::kRice, 0},
                                {IndexKind::kRice, 12},
                                {IndexKind::kGamma, -1}};

TEST(IndexCoderTest, RoundTripsAndStaysWithinItsBound) {
  for (const IndexCoding& c : kCodings) {
    for (double p : {0.0, 0.001, 0.05, 0.5, 1.0}) {
      const size_t n = 100003;
      std::vector<uint32_t> pos = RandomPositions(n, p, 42), got;
      std::vector<uint8_t> buf = Encode(c, pos, n);
      EXPECT_LE(buf.size() * 8, MaxPositionBits(c, pos.size(), n) + 7);
      ASSERT_TRUE(Decode(c, buf, pos.size(), n, &got).ok());
      EXPECT_EQ(got, pos);
    }
  }
}

TEST(IndexCoderTest, ExtremePositionsRoundTrip) {
  for (const IndexCoding& c : kCodings) {
    if (c.kind == IndexKind::kRice && c.rice_k >= 0) continue;  // 2^31-bit unary codes
    const size_t n = 0xFFFFFFFFu;
    std::vector<uint32_t> pos = {0, 1, 0x80000000u, 0xFFFFFFFEu}, got;
    ASSERT_TRUE(Decode(c, Encode(c, pos, n), pos.size(), n, &got).ok());
    EXPECT_EQ(got, pos);
  }
}

// The grouped Rice writer (codes from the kernel table, four per Put)
// against one Put per code, for every table: the
// generic loop runs when a callback follows each position. Mixed gaps put
// long codes (escapes past 56 bits) among short ones, and counts not a
// multiple of four leave tails.
TEST(IndexCoderTest, GroupedRiceWritesTheSameBitsAsOneCodePerPut) {
  std::vector<uint32_t> pos = RandomPositions(200003, 0.02, 11);
  RngStream rng(5, RngPurpose::kTest, 0, 0);
  for (uint32_t& p : pos) p += static_cast<uint32_t>(rng.UniformInt(4));  // small jitter
  std::vector<uint32_t> sparse;
  for (uint32_t p = 0; p < (1u << 24); p += 1 + p / 3) sparse.push_back(p);  // growing gaps
  for (const std::vector<uint32_t>* set : {&pos, &sparse}) {
    std::vector<uint32_t> v = *set;
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    for (int k : {-1, 0, 3, 12, 30}) {
      for (size_t count : {v.size(), v.size() - 1, v.size() - 2, v.size() - 3, size_t{3}}) {
        const IndexCoding c{IndexKind::kRice, k};
        const size_t n = size_t{v[count - 1]} + 1;
        std::vector<uint8_t> b((MaxPositionBits(c, count, n) + 7) / 8 + 1);
        BitWriter wb(b.data(), b.size());
        EncodePositions(c, v.data(), count, &wb, [](size_t, BitWriter*) {});
        b.resize(wb.Finish());
        for (const Kernels* table : {&ScalarKernels(), Avx2Kernels(), Avx512Kernels()}) {
          if (table == nullptr) continue;
          SetKernelsForTest(table);  // the codes come from the kernel table
          std::vector<uint8_t> a(b.size() + 8);
          BitWriter wa(a.data(), a.size());
          EncodePositions(c, v.data(), count, &wa);
          a.resize(wa.Finish());
          SetKernelsForTest(nullptr);
          EXPECT_EQ(a, b) << table->name << " k=" << k << " count=" << count;
        }
      }
    }
  }
}

// Rice with the per-payload parameter costs within 3% of the i.i.d. entropy
// bound H(p)/p bits per position (reference/codecs.md section 8).
TEST(IndexCoderTest, RiceIsWithinThreePercentOfEntropy) {
  const size_t n = 1 << 22;
  for (double p : {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1}) {
    std::vector<uint32_t> pos = RandomPositions(n, p, 7);
    std::vector<uint8_t> buf = Encode({IndexKind::kRice, -1}, pos, n);
    const double bits = 8.0 * static_cast<double>(buf.size()) / static_cast<double>(pos.size());
    const double entropy = (-p * std::log2(p) - (1 - p) * std::log2(1 - p)) / p;
    EXPECT_LT(bits, 1.03 * entropy) << "p=" << p << " bits/position=" << bits;
    EXPECT_GT(bits, 0.97 * entropy) << "p=" << p;  // a bound that is too good is a bug
  }
}

TEST(IndexCoderTest, ChooseRiceKMatchesGolombOptimum) {
  // b* from reference/codecs.md section 8: p -> b*.
  const std::pair<double, int> want[] = {{0.1, 3}, {0.05, 4}, {0.01, 6}, {0.001, 9}};
  for (auto [p, k] : want) {
    std::vector<uint32_t> pos = RandomPositions(1 << 22, p, 3);
    EXPECT_EQ(ChooseRiceK(pos.data(), pos.size()), k) << "p=" << p;
  }
}

TEST(IndexCoderTest, TruncatedStreamIsDataLoss) {
  for (const IndexCoding& c : kCodings) {
    std::vector<uint32_t> pos = RandomPositions(10000, 0.05, 1), got;
    std::vector<uint8_t> buf = Encode(c, pos, 10000);
    buf.pop_back();
    Status s = Decode(c, buf, pos.size(), 10000, &got);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
  }
}

TEST(IndexCoderTest, PositionPastTheEndIsInvalidArgument) {
  for (const IndexCoding& c : kCodings) {
    std::vector<uint32_t> pos = {5, 900}, got;
    std::vector<uint8_t> buf = Encode(c, pos, 1000);
    Status s = Decode(c, buf, pos.size(), 800, &got);  // 900 >= 800
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  }
}

TEST(IndexCoderTest, GarbageNeverReadsPastTheStream) {
  RngStream rng(9, RngPurpose::kTest, 0, 0);
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<uint8_t> buf(rng.UniformInt(40));
    for (auto& b : buf) b = static_cast<uint8_t>(rng.NextU32());
    std::vector<uint32_t> got;
    const IndexCoding& c = kCodings[trial % 5];
    Status s = Decode(c, buf, rng.UniformInt(100), 1 + rng.UniformInt(1u << 31), &got);
    if (!s.ok()) {
      EXPECT_TRUE(s.code() == StatusCode::kDataLoss || s.code() == StatusCode::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace tern::codec
