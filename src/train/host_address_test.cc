#include "train/host_address.h"

#include <gtest/gtest.h>

namespace tern::train {
namespace {

TEST(HostAddressTest, SplitsHostAndPort) {
  auto a = SplitHostPort("10.0.0.1:48150");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->first, "10.0.0.1");
  EXPECT_EQ(a->second, "48150");
  auto b = SplitHostPort("[::1]:80");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->first, "::1");
  for (const char* bad : {"10.0.0.1", ":80", "host:", "host:8x", "[::1]80", "[::1"}) {
    EXPECT_EQ(SplitHostPort(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(HostAddressTest, LoopbackRouteIsLoopback) {
  Result<std::string> a = LocalAddressToward("127.0.0.1:9");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->rfind("127.", 0), 0u) << *a;
  EXPECT_TRUE(IsLoopbackHost("127.0.0.5"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.1"));
}

TEST(HostAddressTest, UnresolvableHostIsNotFound) {
  EXPECT_EQ(LocalAddressToward("no-such-host.invalid:1").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace tern::train
