#include "codec/spec.h"

#include <gtest/gtest.h>

#include "tern/codec.h"

namespace tern::codec {
namespace {

TEST(SpecTest, ParsesPipelineWithParameters) {
  Result<ParsedSpec> p = ParseSpec("topk:density=0.01,select=sampled|rice:k=6|zstd");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_FALSE(p->feedback);
  ASSERT_EQ(p->stages.size(), 3u);
  EXPECT_EQ(p->stages[0].name, "topk");
  ASSERT_EQ(p->stages[0].params.size(), 2u);
  EXPECT_EQ(p->stages[0].params[1].key, "select");
  EXPECT_EQ(p->stages[0].params[1].value, "sampled");
  EXPECT_EQ(p->stages[2].name, "zstd");
}

TEST(SpecTest, ParsesFeedbackWrapper) {
  Result<ParsedSpec> p = ParseSpec("econtrol:eta=0.2(topk:density=0.01|rice)");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->feedback);
  EXPECT_EQ(p->wrapper.name, "econtrol");
  EXPECT_EQ(p->wrapper.params[0].value, "0.2");
  EXPECT_EQ(p->stages.size(), 2u);
}

TEST(SpecTest, MalformedSpecsAreInvalidArgument) {
  for (const char* bad : {"", "int8:", "int8:block", "int8:block=", "int8|", "|int8", "ef21(int8",
                          "ef21(int8))", "int8:block=1,block=2", "int8 |zstd", "int8;x",
                          "ef21()"}) {
    Result<ParsedSpec> p = ParseSpec(bad);
    EXPECT_FALSE(p.ok()) << bad;
    if (!p.ok()) {
      EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
}

TEST(SpecTest, NumbersHaveOneCanonicalSpelling) {
  EXPECT_EQ(FormatNumber(0.01), "0.01");
  EXPECT_EQ(FormatNumber(256), "256");
  EXPECT_EQ(*ParseNumber("0.010"), 0.01);
  EXPECT_EQ(*ParseNumber("+1e-2"), 0.01);
  EXPECT_FALSE(ParseNumber("1x").ok());
  EXPECT_FALSE(ParseNumber("nan").ok());
  EXPECT_FALSE(ParseNumber("inf").ok());
}

TEST(CodecCreateTest, CanonicalSpecSpellsOutEveryParameter) {
  struct Case {
    const char* in;
    const char* canonical;
  } cases[] = {
      {"int8", "int8:block=256,rounding=nearest"},
      {"int8:block=0256", "int8:block=256,rounding=nearest"},
      {"topk:density=0.010", "topk:density=0.01,select=exact|rice:k=auto"},
      {"topk|gamma|zstd:level=5", "topk:density=0.01,select=exact|gamma|zstd:level=5"},
      {"fp16|zstd", "fp16|zstd:level=3"},
      {"compeft:density=0.05,alpha=1|rice", "compeft:density=0.05,alpha=1|rice:k=auto"},
  };
  for (const Case& c : cases) {
    Result<std::unique_ptr<Codec>> codec = Codec::Create(c.in);
    ASSERT_TRUE(codec.ok()) << c.in << ": " << codec.status().ToString();
    EXPECT_EQ((*codec)->spec(), c.canonical);
    Result<std::unique_ptr<Codec>> again = Codec::Create((*codec)->spec());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ((*again)->spec(), c.canonical);
  }
}

TEST(CodecCreateTest, BadSpecsAreInvalidArgument) {
  for (const char* bad :
       {"nosuch", "int8:blok=4", "int8:block=0", "int8:block=1.5", "int8:rounding=up",
        "topk:density=0", "topk:density=2", "rice", "int8|rice", "zstd|int8", "int8|zstd|zstd",
        "sign:block=10", "fp4:format=e5m2", "ef21(int8)", "topk|rice|gamma",
        "qsgd:levels=0", "fedzip:clusters=17", "zstd:level=30", "int8|zstd:level=0"}) {
    Result<std::unique_ptr<Codec>> c = Codec::Create(bad);
    EXPECT_FALSE(c.ok()) << bad;
    if (!c.ok()) {
      EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
}

TEST(CodecCreateTest, ListNamesEveryStageWithDefaults) {
  const std::vector<CodecInfo>& list = ListCodecs();
  std::vector<std::string> names;
  for (const CodecInfo& info : list) {
    names.push_back(info.name);
    if (info.kind == "value") {
      EXPECT_TRUE(Codec::Create(info.name).ok()) << info.name;
    }
  }
  for (const char* want : {"fp16", "bf16", "int8", "int4", "lut8", "fp4", "qsgd", "terngrad",
                           "sign", "topk", "randk", "compeft", "fedzip", "rice", "gamma", "zstd",
                           "ef", "ef21", "econtrol"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  }
}

TEST(CodecCreateTest, TraitsReportBitsAndBias) {
  EXPECT_TRUE(Codec::Create("fp32").value()->traits().lossless);
  EXPECT_FALSE(Codec::Create("fp16").value()->traits().lossless);
  EXPECT_DOUBLE_EQ(Codec::Create("int8:block=256").value()->traits().bits_per_element, 8.125);
  EXPECT_DOUBLE_EQ(Codec::Create("fp4").value()->traits().bits_per_element, 4.25);
  EXPECT_TRUE(Codec::Create("qsgd").value()->traits().unbiased);
  EXPECT_TRUE(Codec::Create("randk").value()->traits().unbiased);
  EXPECT_FALSE(Codec::Create("randk").value()->traits().uses_peer_noise);
  EXPECT_TRUE(Codec::Create("int8:rounding=stochastic").value()->traits().uses_peer_noise);
  EXPECT_FALSE(Codec::Create("topk").value()->traits().unbiased);
  double compeft = Codec::Create("compeft:density=0.05").value()->traits().bits_per_element;
  EXPECT_GT(compeft, 0.30);
  EXPECT_LT(compeft, 0.40);
}

}  // namespace
}  // namespace tern::codec
