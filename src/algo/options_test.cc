#include <gtest/gtest.h>

#include "tern/algo_options.h"

namespace tern {
namespace {

TEST(StrategyOptionsTest, DefaultsFollowTheReferences) {
  auto c = ParseStrategyConfig("streaming-diloco");
  ASSERT_TRUE(c.ok());
  const auto& s = std::get<StreamingDiLoCoOptions>(*c);
  EXPECT_EQ(s.sync_delay, 1);
  EXPECT_EQ(s.alpha, 0.5f);
  EXPECT_EQ(s.codec, "fp4");
  EXPECT_EQ(s.layout, FragmentLayout::kStrided);
  const auto d = std::get<DiLoCoOptions>(*ParseStrategyConfig("diloco"));
  EXPECT_EQ(d.outer.rule, OuterRule::kNesterov);
  EXPECT_EQ(d.outer.lr, 0.7f);
  EXPECT_EQ(d.outer.momentum, 0.9f);
  EXPECT_EQ(d.sync_every, 500);
  const auto a = std::get<AsyncDiLoCoOptions>(*ParseStrategyConfig("async-diloco"));
  EXPECT_EQ(a.outer.rule, OuterRule::kSgd);  // PCCL's; delayed Nesterov 0.9 diverges
  EXPECT_EQ(a.outer.lr, 0.7f);
}

TEST(StrategyOptionsTest, ParsesKeys) {
  auto c = ParseStrategyConfig("diloco", {{"h", "100"}, {"codec", "int8:block=256"},
                                          {"outer", "adam"}, {"outer_lr", "0.25"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const auto& d = std::get<DiLoCoOptions>(*c);
  EXPECT_EQ(d.sync_every, 100);
  EXPECT_EQ(d.codec, "int8:block=256");
  EXPECT_EQ(d.outer.rule, OuterRule::kAdam);
  EXPECT_EQ(d.outer.lr, 0.25f);
}

TEST(StrategyOptionsTest, RefusesUnknownNamesKeysAndValues) {
  EXPECT_EQ(ParseStrategyConfig("dilocoo").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStrategyConfig("ddp", {{"h", "3"}}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStrategyConfig("diloco", {{"h", "x"}}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStrategyConfig("diloco", {{"h", "0"}}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStrategyConfig("zo", {{"lr", "nan"}}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(StrategyOptionsTest, OuterStepKeysAreNamedAlikeEverywhere) {
  Result<StrategyConfig> n =
      ParseStrategyConfig("noloco", {{"outer_lr", "0.5"}, {"outer_momentum", "0.25"}});
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(std::get<NoLoCoOptions>(*n).lr, 0.5f);
  EXPECT_EQ(std::get<NoLoCoOptions>(*n).momentum, 0.25f);
  Result<StrategyConfig> c = ParseStrategyConfig("co2", {{"outer_momentum", "0.25"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(std::get<Co2Options>(*c).momentum, 0.25f);
  // An unknown key names the key and lists the strategy's own.
  const Status bad = ParseStrategyConfig("noloco", {{"momentum", "0.5"}}).status();
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.ToString().find("'momentum' (its options: h, outer_lr, outer_momentum, group_size"),
            std::string::npos)
      << bad.ToString();
}

TEST(StrategyOptionsTest, EnforcesTorchftFragmentChecks) {
  auto bad_divisor = ParseStrategyConfig("streaming-diloco", {{"h", "6"}, {"fragments", "4"}});
  EXPECT_EQ(bad_divisor.status().code(), StatusCode::kInvalidArgument);
  auto bad_tau =
      ParseStrategyConfig("streaming-diloco", {{"h", "6"}, {"fragments", "2"}, {"tau", "3"}});
  EXPECT_EQ(bad_tau.status().code(), StatusCode::kInvalidArgument);
  auto ok = ParseStrategyConfig("streaming-diloco", {{"h", "6"}, {"fragments", "2"}, {"tau", "2"}});
  EXPECT_TRUE(ok.ok());
  // Automatic fragments (0): tau >= h fails whatever F the model allows, so
  // it is refused here, before any worker loads data.
  auto auto_tau = ParseStrategyConfig("streaming-diloco", {{"h", "100"}, {"tau", "200"}});
  EXPECT_EQ(auto_tau.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStrategyConfig("streaming-diloco", {{"h", "100"}, {"tau", "100"}}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(ParseStrategyConfig("streaming-diloco", {{"h", "100"}, {"tau", "99"}}).ok());
  auto alpha = ParseStrategyConfig("streaming-diloco", {{"alpha", "1.5"}});
  EXPECT_EQ(alpha.status().code(), StatusCode::kInvalidArgument);
}

TEST(StrategyOptionsTest, CanonicalConfigRoundTrips) {
  auto c = ParseStrategyConfig("co2", {{"clip", "1"}, {"gap_penalty", "2.5"}});
  ASSERT_TRUE(c.ok());
  const std::string text = CanonicalConfig(*c);
  EXPECT_EQ(text.substr(0, 4), "co2:");
  EXPECT_NE(text.find("clip=1"), std::string::npos);
  EXPECT_NE(text.find("gap_penalty=2.5"), std::string::npos);
  EXPECT_NE(CanonicalConfig(*ParseStrategyConfig("co2")), text);
  EXPECT_EQ(StrategyName(*c), "co2");
}

}  // namespace
}  // namespace tern
