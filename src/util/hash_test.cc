#include "util/hash.h"

#include <gtest/gtest.h>

#include <string>

namespace tern {
namespace {

TEST(HashTest, IncrementalEqualsOneShot) {
  std::string s = "the replicated state of a run";
  Xxh3Hasher h;
  h.Update(s.data(), 5);
  h.Update(s.data() + 5, s.size() - 5);
  EXPECT_EQ(h.Digest(), Xxh3(s.data(), s.size()));
  EXPECT_NE(Xxh3(s.data(), s.size()), Xxh3(s.data(), s.size() - 1));
}

}  // namespace
}  // namespace tern
