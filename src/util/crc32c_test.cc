#include "util/crc32c.h"

#include <gtest/gtest.h>

#include <string>

#include "util/philox.h"

namespace tern {
namespace {

TEST(Crc32cTest, KnownAnswers) {
  // RFC 3720 B.4 test vectors.
  std::string zeros(32, '\0');
  EXPECT_EQ(Crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  std::string ones(32, '\xff');
  EXPECT_EQ(Crc32c(ones.data(), ones.size()), 0x62A8AB43u);
  EXPECT_EQ(Crc32c("123456789", 9), 0xE3069283u);
}

TEST(Crc32cTest, HardwareMatchesPortableAndExtends) {
  RngStream r(1, RngPurpose::kTest);
  std::string buf(4099, '\0');
  for (auto& c : buf) c = static_cast<char>(r.NextU32());
  for (size_t n : {0u, 1u, 7u, 8u, 9u, 100u, 4099u}) {
    EXPECT_EQ(internal::Crc32cPortable(buf.data(), n, 0), internal::Crc32cHardware(buf.data(), n, 0));
  }
  uint32_t whole = Crc32c(buf.data(), buf.size());
  uint32_t part = Crc32c(buf.data() + 1000, buf.size() - 1000, Crc32c(buf.data(), 1000));
  EXPECT_EQ(whole, part);
}

TEST(Crc32cTest, InterleavedHardwarePathMatchesPortableOnLongInputs) {
  RngStream r(2, RngPurpose::kTest);
  std::string buf(3 * 8192 * 2 + 3 * 256 + 777, '\0');
  for (auto& c : buf) c = static_cast<char>(r.NextU32());
  for (size_t off : {0u, 1u, 5u}) {
    for (size_t n : {size_t{3 * 8192}, size_t{3 * 8192 + 1}, size_t{3 * 256 + 13}, size_t{1023},
                     size_t{1024}, size_t{1025}, size_t{1279}, size_t{1280}, size_t{5000},
                     buf.size() - off}) {
      EXPECT_EQ(internal::Crc32cPortable(buf.data() + off, n, 7),
                internal::Crc32cHardware(buf.data() + off, n, 7))
          << "off " << off << " n " << n;
    }
  }
}

}  // namespace
}  // namespace tern
