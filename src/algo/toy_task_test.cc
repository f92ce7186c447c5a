#include "algo/toy_task.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "algo/adamw.h"

namespace tern::algo::toy {
namespace {

TEST(ToyTaskTest, GradientMatchesFiniteDifferences) {
  Mlp mlp({6, 5, 4, 3});
  std::vector<float> p(mlp.num_params()), g(mlp.num_params());
  mlp.Init(p, 3);
  // Nonzero biases: a unit whose inputs are all dead must not sit exactly on
  // the ReLU kink, where finite differences see half the slope.
  for (size_t i = 0; i < p.size(); ++i) p[i] += 0.01f * static_cast<float>(i % 5 + 1);
  GaussianMixtureOptions o{.dim = 6, .classes = 3, .clusters = 2, .train = 64, .eval = 8};
  GaussianMixture data = MakeGaussianMixture(o);
  std::vector<float> x;
  std::vector<int> y;
  SampleBatch(data.train, 0, 64, 1, 0, 0, 8, &x, &y);
  mlp.LossAndGradient(p, x, y, g);
  for (size_t i = 0; i < p.size(); ++i) {
    std::vector<double> lp(2);
    for (int s = 0; s < 2; ++s) {
      std::vector<float> q = p;
      q[i] += s == 0 ? 1e-3f : -1e-3f;
      lp[s] = mlp.Loss(q, x, y);
    }
    const double fd = (lp[0] - lp[1]) / 2e-3;
    EXPECT_NEAR(g[i], fd, 1e-3 + 1e-2 * std::fabs(fd)) << "parameter " << i;
  }
}

TEST(ToyTaskTest, DataIsDeterministicAndLabelled) {
  GaussianMixtureOptions o{.dim = 8, .train = 100, .eval = 10};
  GaussianMixture a = MakeGaussianMixture(o), b = MakeGaussianMixture(o);
  EXPECT_EQ(a.train.x, b.train.x);
  EXPECT_EQ(a.eval.y, b.eval.y);
  EXPECT_NE(a.train.x, MakeGaussianMixture({.dim = 8, .train = 100, .eval = 10, .seed = 1}).train.x);
  for (int label : a.train.y) EXPECT_TRUE(label >= 0 && label < o.classes);
}

TEST(ToyTaskTest, AdamWTrainsTheMlp) {
  GaussianMixtureOptions o{.dim = 16, .clusters = 2, .train = 2048, .eval = 512};
  GaussianMixture data = MakeGaussianMixture(o);
  Mlp mlp({16, 32, 4});
  std::vector<float> p(mlp.num_params()), g(p.size());
  mlp.Init(p, 1);
  double before, after, acc;
  mlp.Evaluate(p, data.eval, &before, &acc);
  AdamW opt(p.size(), AdamWOptions{.weight_decay = 0});
  const LrSchedule schedule = LrSchedule::Cosine(3e-3f, 0, 300, 3e-4f);
  std::vector<float> x;
  std::vector<int> y;
  for (int t = 0; t < 300; ++t) {
    SampleBatch(data.train, 0, data.train.size(), 7, 0, t, 32, &x, &y);
    mlp.LossAndGradient(p, x, y, g);
    opt.Step(p, g, schedule.At(t));
  }
  mlp.Evaluate(p, data.eval, &after, &acc);
  EXPECT_LT(after, 0.5 * before);
  EXPECT_GT(acc, 0.8);
}

TEST(ToyTaskTest, LayoutNamesLayersForFragments) {
  Mlp mlp({4, 3, 2});
  auto layout = mlp.Layout();
  ASSERT_EQ(layout.size(), 4u);
  EXPECT_EQ(layout[0].name, "fc1.weight");
  EXPECT_EQ(layout[3].name, "fc2.bias");
  EXPECT_EQ(layout[3].offset + layout[3].numel, mlp.num_params());
}

}  // namespace
}  // namespace tern::algo::toy
