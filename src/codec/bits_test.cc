// BitWriter's wide stores against a bit-by-bit reference, at every distance
// from the end of its buffer (where it falls back to byte stores).
#include "codec/bits.h"

#include <vector>

#include <gtest/gtest.h>

#include "util/philox.h"

namespace tern::codec {
namespace {

struct Field {
  uint64_t value;
  int bits;
};

std::vector<Field> RandomFields(size_t count, uint64_t seed) {
  RngStream rng(seed, RngPurpose::kTest, 0, 0);
  std::vector<Field> f(count);
  for (Field& x : f) {
    x.bits = static_cast<int>(rng.UniformInt(57));  // 0 .. 56
    x.value = rng.NextU64();  // high bits beyond `bits` must be ignored
  }
  return f;
}

std::vector<uint8_t> Reference(const std::vector<Field>& fields) {
  std::vector<uint8_t> out;
  size_t bit = 0;
  for (const Field& f : fields) {
    for (int b = 0; b < f.bits; ++b, ++bit) {
      if (bit % 8 == 0) out.push_back(0);
      out.back() |= static_cast<uint8_t>(((f.value >> b) & 1) << (bit % 8));
    }
  }
  return out;
}

TEST(BitWriterTest, WideStoresGiveTheSameBitsAsOneAtATime) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const std::vector<Field> fields = RandomFields(500, seed);
    const std::vector<uint8_t> want = Reference(fields);
    // Exactly the room the stream needs, and a little more.
    for (size_t extra : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{64}}) {
      std::vector<uint8_t> buf(want.size() + extra, 0xAA);
      BitWriter w(buf.data(), buf.size());
      for (const Field& f : fields) w.Put(f.value, f.bits);
      ASSERT_EQ(w.Finish(), want.size());
      buf.resize(want.size());
      ASSERT_EQ(buf, want) << "seed " << seed << " extra " << extra;
    }
  }
}

TEST(BitWriterTest, UnaryRunsLongerThanOneStore) {
  for (uint64_t q : {uint64_t{0}, uint64_t{1}, uint64_t{47}, uint64_t{48}, uint64_t{55},
                     uint64_t{56}, uint64_t{100}, uint64_t{1000}}) {
    std::vector<uint8_t> buf(q / 8 + 2);
    BitWriter w(buf.data(), buf.size());
    w.Put(1, 1);  // an odd start
    w.PutUnary(q);
    buf.resize(w.Finish());
    BitReader r(buf.data(), buf.size());
    uint64_t first = 0, got = 0;
    ASSERT_TRUE(r.Get(1, &first));
    ASSERT_EQ(r.GetUnary(q, &got), BitReader::Unary::kOk) << q;
    EXPECT_EQ(got, q);
    EXPECT_TRUE(r.AtPaddedEnd());
  }
}

}  // namespace
}  // namespace tern::codec
