#include "train/run_config.h"

#include <gtest/gtest.h>

namespace tern::train {
namespace {

TEST(RunConfigTest, DefaultsAreDiLoCoWithInt8AndH50) {
  RunConfig c;
  ASSERT_TRUE(ValidateRunConfig(c).ok());
  Result<StrategyParams> p = StrategyParamsFor(c);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->at("h"), "50");
  EXPECT_EQ(p->at("codec"), "int8");
  EXPECT_EQ(DescribeStrategy(c), "diloco h=50 codec=int8");
}

TEST(RunConfigTest, StreamingKeepsItsFp4AndUsesH100) {
  RunConfig c;
  c.strategy = "streaming-diloco";
  Result<StrategyParams> p = StrategyParamsFor(c);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->at("h"), "100");
  EXPECT_EQ(p->count("codec"), 0u);  // the strategy's own default (fp4)
  EXPECT_EQ(DescribeStrategy(c), "streaming-diloco h=100 codec=fp4");
}

TEST(RunConfigTest, DdpHasNoInnerStepsAndFp32MeansNoCodec) {
  RunConfig c;
  c.strategy = "ddp";
  c.inner_steps = 7;
  c.codec = "fp32";
  Result<StrategyParams> p = StrategyParamsFor(c);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->count("h"), 0u);
  EXPECT_EQ(p->at("codec"), "");
}

TEST(RunConfigTest, ComparisonGivesEachStrategyTheKeysItHas) {
  const std::map<std::string, std::string> params = {{"fragments", "2"}, {"outer_lr", "0.5"}};
  EXPECT_TRUE(CheckStrategyParamKeys({"diloco", "streaming-diloco", "ddp"}, params).ok());
  RunConfig c;
  c.strategy_params = ParamsFor("diloco", params);
  Result<StrategyParams> diloco = StrategyParamsFor(c);
  ASSERT_TRUE(diloco.ok()) << diloco.status().ToString();
  EXPECT_EQ(diloco->count("fragments"), 0u);
  EXPECT_EQ(diloco->at("outer_lr"), "0.5");
  c.strategy = "streaming-diloco";
  c.strategy_params = ParamsFor(c.strategy, params);
  Result<StrategyParams> streaming = StrategyParamsFor(c);
  ASSERT_TRUE(streaming.ok());
  EXPECT_EQ(streaming->at("fragments"), "2");
  EXPECT_TRUE(ParamsFor("ddp", params).empty());
}

TEST(RunConfigTest, UnknownStrategyParamIsRefusedNamingItAndTheValidKeys) {
  RunConfig c;  // diloco
  c.strategy_params = {{"outer_lrr", "0.5"}};
  const Status s = ValidateRunConfig(c);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'outer_lrr'"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("diloco: h, codec, outer, outer_lr, outer_momentum"),
            std::string::npos)
      << s.ToString();
  // A key only another strategy has is refused for this one too.
  c.strategy_params = {{"fragments", "2"}};
  EXPECT_EQ(ValidateRunConfig(c).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(StrategyParamsFor(c).status().code(), StatusCode::kInvalidArgument);
  const Status none = CheckStrategyParamKeys({"ddp", "noloco"}, {{"tau", "1"}});
  EXPECT_EQ(none.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(none.message().find("ddp: codec"), std::string::npos) << none.ToString();
  EXPECT_NE(none.message().find("noloco: h, outer_lr"), std::string::npos) << none.ToString();
}

TEST(RunConfigTest, FewerStepsThanHIsRefused) {
  RunConfig c;
  c.steps = 40;  // diloco's run default H is 50: it would never synchronize
  const Status s = ValidateRunConfig(c);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("never synchronize"), std::string::npos) << s.ToString();
  c.inner_steps = 40;
  EXPECT_TRUE(ValidateRunConfig(c).ok());
  c.strategy = "ddp";  // no H
  c.steps = 1;
  EXPECT_TRUE(ValidateRunConfig(c).ok());
}

TEST(RunConfigTest, WarmupNeedsTheCosineSchedule) {
  RunConfig c;
  c.warmup = 10;
  EXPECT_EQ(ValidateRunConfig(c).code(), StatusCode::kInvalidArgument);
  c.cosine = true;
  EXPECT_TRUE(ValidateRunConfig(c).ok());
  c.warmup = static_cast<int>(c.steps);
  EXPECT_EQ(ValidateRunConfig(c).code(), StatusCode::kInvalidArgument);
}

TEST(RunConfigTest, OutOfRangeValuesAreInvalidArgument) {
  auto code = [](auto mutate) {
    RunConfig c;
    mutate(c);
    return ValidateRunConfig(c).code();
  };
  EXPECT_EQ(code([](RunConfig& c) { c.workers = 0; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(code([](RunConfig& c) { c.lr = -1; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(code([](RunConfig& c) { c.model = "rnn"; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(code([](RunConfig& c) { c.strategy = "gossip"; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(code([](RunConfig& c) { c.chaos = true, c.workers = 1; }),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code([](RunConfig& c) { c.non_iid = -0.5; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(code([](RunConfig& c) { c.link_delay_ms = -1; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(code([](RunConfig& c) { c.codec = "int9"; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(code([](RunConfig& c) { c.timeout_ms = 50; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(code([](RunConfig& c) { c.timeout_ms = 3'600'001; }), StatusCode::kInvalidArgument);
  // fragments must divide h (100): refused by the strategy's own validation.
  EXPECT_EQ(code([](RunConfig& c) {
              c.strategy = "streaming-diloco";
              c.strategy_params = {{"fragments", "3"}};
            }),
            StatusCode::kInvalidArgument);
}

TEST(RunConfigTest, ModelLayersAreWhatStreamingDiLoCoFragments) {
  RunConfig c;
  EXPECT_EQ(*ModelLayers(c), (std::vector<std::string>{"conv1", "conv2", "fc"}));
  c.model = "mlp";
  EXPECT_EQ(*ModelLayers(c), (std::vector<std::string>{"fc1", "fc2"}));
}

TEST(RunConfigTest, StreamingOptionsTheModelCannotTakeFailBeforeSpawning) {
  RunConfig c;
  c.strategy = "streaming-diloco";
  c.strategy_params = {{"fragments", "4"}};  // divides h = 100, but 3 layers
  Status s = ValidateRunConfig(c);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("fragments=4"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("3 layers"), std::string::npos) << s.ToString();
  c.strategy_params = {{"tau", "200"}};  // automatic fragments: tau >= h
  EXPECT_EQ(ValidateRunConfig(c).code(), StatusCode::kInvalidArgument);
  c.strategy_params = {{"fragments", "2"}};
  EXPECT_TRUE(ValidateRunConfig(c).ok());
}

TEST(RunConfigTest, JsonRoundTripKeepsEveryField) {
  RunConfig c;
  c.model = "mlp";
  c.workers = 3;
  c.steps = 77;
  c.lr = 0.25f;
  c.seed = 123456789012345ULL;
  c.strategy = "noloco";
  c.strategy_params = {{"group_size", "0"}};
  c.link_rate_mbit = 100;
  c.chaos = true;
  Result<RunConfig> back = RunConfigFromJson(RunConfigToJson(c));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(RunConfigToJson(*back), RunConfigToJson(c));
  EXPECT_EQ(back->seed, c.seed);
  EXPECT_EQ(back->strategy_params, c.strategy_params);
}

TEST(RunConfigTest, MalformedJsonIsInvalidArgument) {
  EXPECT_EQ(RunConfigFromJson("{").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RunConfigFromJson("[]").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RunConfigFromJson(R"({"wokers": 2})").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RunConfigFromJson(R"({"workers": "2"})").status().code(),
            StatusCode::kInvalidArgument);
  Result<RunConfig> partial = RunConfigFromJson(R"({"workers": 2})");
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(partial->workers, 2);
  EXPECT_EQ(partial->strategy, "diloco");
}

TEST(RunConfigTest, StrategyListIsCheckedAndOrdered) {
  Result<std::vector<std::string>> l = ParseStrategyList("ddp,diloco,streaming-diloco");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(*l, (std::vector<std::string>{"ddp", "diloco", "streaming-diloco"}));
  EXPECT_EQ(ParseStrategyList("ddp,ddp").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStrategyList("ddp,,diloco").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStrategyList("ddp,sgd").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStrategyList("").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tern::train
