#include "algo/fragments.h"

#include <gtest/gtest.h>

#include <vector>

namespace tern::algo {
namespace {

std::vector<ParamSlice> Slices(std::vector<std::pair<std::string, size_t>> spec) {
  std::vector<ParamSlice> out;
  size_t at = 0;
  for (auto& [name, n] : spec) {
    out.push_back({.name = name, .offset = at, .numel = n, .shape = {}});
    at += n;
  }
  return out;
}

TEST(FragmentsTest, LayerKeyUsesFirstIndexOrModule) {
  EXPECT_EQ(LayerKey("layers.3.attn.q.weight"), "layers.3");
  EXPECT_EQ(LayerKey("model.layers.12.mlp"), "model.layers.12");
  EXPECT_EQ(LayerKey("fc1.weight"), "fc1");
  EXPECT_EQ(LayerKey("params"), "params");
}

TEST(FragmentsTest, ConsecutiveSlicesOfOneLayerMerge) {
  auto layout = Slices({{"fc1.weight", 6}, {"fc1.bias", 2}, {"fc2.weight", 4}, {"fc2.bias", 1}});
  std::vector<Range> layers = Layers(layout);
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[0].offset, 0u);
  EXPECT_EQ(layers[0].numel, 8u);
  EXPECT_EQ(layers[1].offset, 8u);
  EXPECT_EQ(layers[1].numel, 5u);
}

TEST(FragmentsTest, StridedAndSequentialPartitions) {
  std::vector<Range> layers;
  for (size_t i = 0; i < 6; ++i) layers.push_back({i * 10, 10});
  auto strided = MakeFragments(layers, 2, FragmentLayout::kStrided);
  ASSERT_TRUE(strided.ok());
  EXPECT_EQ((*strided)[0].ranges[1].offset, 20u);  // layers 0, 2, 4
  EXPECT_EQ((*strided)[1].ranges[0].offset, 10u);  // layers 1, 3, 5
  auto seq = MakeFragments(layers, 2, FragmentLayout::kSequential);
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ((*seq)[0].ranges.back().offset, 20u);  // layers 0, 1, 2
  EXPECT_EQ((*seq)[1].ranges.front().offset, 30u);
  EXPECT_EQ((*seq)[1].numel, 30u);
}

TEST(FragmentsTest, MoreFragmentsThanLayersIsInvalid) {
  std::vector<Range> layers = {{0, 4}};
  EXPECT_EQ(MakeFragments(layers, 2, FragmentLayout::kStrided).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(FragmentsTest, LayoutWithGapIsInvalid) {
  std::vector<ParamSlice> layout = {{.name = "a", .offset = 0, .numel = 2, .shape = {}},
                                    {.name = "b", .offset = 3, .numel = 2, .shape = {}}};
  EXPECT_EQ(NormalizeLayout(layout, 5).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(NormalizeLayout(Slices({{"a", 2}}), 3).status().code(), StatusCode::kInvalidArgument);
  auto whole = NormalizeLayout({}, 7);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ((*whole)[0].numel, 7u);
}

TEST(FragmentsTest, AutoFragmentsDividesHAndRespectsTau) {
  EXPECT_EQ(*AutoFragments(24, 100, 1), 5);   // 8, 7, 6 do not divide 100
  // Small models still stream: at least two fragments from two layers on
  // (the CNN of `tern train` has three layers: conv1, conv2, fc).
  EXPECT_EQ(*AutoFragments(1, 100, 1), 1);
  EXPECT_EQ(*AutoFragments(2, 100, 1), 2);
  EXPECT_EQ(*AutoFragments(3, 100, 1), 2);
  EXPECT_EQ(*AutoFragments(5, 100, 1), 2);
  EXPECT_EQ(*AutoFragments(6, 100, 1), 2);
  EXPECT_EQ(*AutoFragments(3, 99, 1), 1);    // 2 does not divide 99
  EXPECT_EQ(*AutoFragments(3, 100, 50), 1);  // tau 50 is not < 100 / 2
  EXPECT_EQ(*AutoFragments(12, 8, 1), 4);     // tau 1 < 8 / 4
  EXPECT_EQ(*AutoFragments(12, 8, 2), 2);     // tau 2 is not < 8 / 4
  EXPECT_EQ(AutoFragments(3, 4, 4).status().code(), StatusCode::kInvalidArgument);
}

TEST(FragmentsTest, PackUnpackRoundTrip) {
  Fragment f{.ranges = {{1, 2}, {5, 1}}, .numel = 3};
  std::vector<float> flat = {0, 1, 2, 3, 4, 5, 6};
  std::vector<float> packed(3);
  Pack(f, flat, packed);
  EXPECT_EQ(packed, (std::vector<float>{1, 2, 5}));
  std::vector<float> out(7, -1);
  Unpack(f, packed, out);
  EXPECT_EQ(out, (std::vector<float>{-1, 1, 2, -1, -1, 5, -1}));
}

}  // namespace
}  // namespace tern::algo
