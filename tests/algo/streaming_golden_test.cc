// torchft's Streaming DiLoCo regression fixtures (diloco_regression_test.py,
// reference/training-algorithms.md 5.1): 2 replicas, 2 fragments of one
// 1x1 weight each, starting at 1; every inner step adds -2 (lr 1, gradient
// 2); outer SGD with lr 2 and no momentum; sync_every 6, so fragment 0
// syncs at steps 3, 9, 15 and fragment 1 at 6, 12. Exact values.
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "tests/algo/harness.h"

namespace tern {
namespace {

using testing::RunThreadRanks;

struct Fixture {
  const char* name;
  int tau;
  float alpha;
  // step -> expected value, for layers.0 and layers.1
  std::map<int, float> layer0, layer1;
};

// layers[k][step] for steps 0..15 on each rank.
std::vector<std::vector<std::vector<float>>> RunFixture(int tau, float alpha) {
  std::vector<std::vector<std::vector<float>>> out(2);
  RunThreadRanks(2, [&](int r, Communicator& comm, StaticWorld& world) {
    StreamingDiLoCoOptions o;
    o.sync_every = 6;
    o.fragments = 2;
    o.sync_delay = tau;
    o.alpha = alpha;
    o.codec = "";
    o.outer = {.rule = OuterRule::kSgd, .lr = 2.0f, .momentum = 0.0f};
    auto s = testing::MakeStrategy(o);
    ASSERT_NE(s, nullptr);
    std::vector<float> params = {1.0f, 1.0f}, grads = {0.0f, 0.0f};
    ModelBuffers model{.parameters = params, .gradients = grads,
                       .layout = {{.name = "layers.0.weight", .offset = 0, .numel = 1, .shape = {1, 1}},
                                  {.name = "layers.1.weight", .offset = 1, .numel = 1, .shape = {1, 1}}}};
    ALGO_ASSERT_OK(s->Attach(&comm, &world, model));
    std::vector<std::vector<float>> trace(2, std::vector<float>{1.0f});
    for (int step = 0; step < 15; ++step) {
      grads = {2.0f, 2.0f};
      ALGO_ASSERT_OK(s->AfterBackward({.step = step}));
      for (int i = 0; i < 2; ++i) params[i] -= 1.0f * grads[i];
      ALGO_ASSERT_OK(s->AfterOptimizerStep({.step = step}));
      for (int i = 0; i < 2; ++i) trace[i].push_back(params[i]);
    }
    out[r] = trace;
  });
  return out;
}

void PrintTo(const Fixture& f, std::ostream* os) { *os << f.name; }

class StreamingGoldenTest : public ::testing::TestWithParam<Fixture> {};

TEST_P(StreamingGoldenTest, MatchesTorchftFixture) {
  const Fixture& f = GetParam();
  auto traces = RunFixture(f.tau, f.alpha);
  ASSERT_EQ(traces[0], traces[1]) << "replicas diverged";
  const auto& t = traces[0];
  ASSERT_EQ(t[0].size(), 16u);
  for (auto [step, v] : f.layer0) EXPECT_EQ(t[0][step], v) << f.name << " layers.0 step " << step;
  for (auto [step, v] : f.layer1) EXPECT_EQ(t[1][step], v) << f.name << " layers.1 step " << step;
}

std::map<int, float> PureLocal() {
  std::map<int, float> m;
  for (int k = 0; k <= 15; ++k) m[k] = 1.0f - 2.0f * k;
  return m;
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, StreamingGoldenTest,
    ::testing::Values(
        Fixture{"_0", 0, 0.0f,
                {{0, 1}, {1, -1}, {2, -3}, {3, -11}, {4, -13}, {5, -15}, {6, -17}, {7, -19},
                 {8, -21}, {9, -35}, {15, -59}},
                {{5, -9}, {6, -23}, {12, -47}}},
        Fixture{"_1", 0, 0.5f, {{3, -8}, {9, -24.5f}, {15, -40.25f}}, {{6, -17}, {12, -32}}},
        Fixture{"_2", 0, 1.0f, PureLocal(), PureLocal()},
        Fixture{"_3", 1, 0.0f, {{2, -3}, {3, -7}, {9, -27}, {15, -47}}, {{6, -19}, {12, -39}}},
        Fixture{"_4", 1, 0.5f, {{3, -6}, {9, -21.5f}, {15, -35.75f}}, {{6, -15}, {12, -29}}},
        Fixture{"_5", 1, 1.0f, PureLocal(), PureLocal()}),
    [](const ::testing::TestParamInfo<Fixture>& info) {
      return std::string("fixture") + (info.param.name + 1);
    });

}  // namespace
}  // namespace tern
