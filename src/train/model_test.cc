#include "train/model.h"

#include <gtest/gtest.h>

#include <cmath>

#include "algo/adamw.h"
#include "util/philox.h"

namespace tern::train {
namespace {

std::unique_ptr<Model> Make(ModelKind kind, uint64_t seed, int hidden = 256) {
  ModelOptions o;
  o.kind = kind;
  o.seed = seed;
  o.mlp_hidden = hidden;
  Result<std::unique_ptr<Model>> m = Model::Create(o);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return std::move(m).value();
}

// A deterministic batch of n random "images" with labels 0..9.
struct TestBatch {
  std::vector<float> images;
  std::vector<int64_t> labels;
  explicit TestBatch(int n, uint64_t seed = 1) : images(n * 784), labels(n) {
    RngStream rng(seed, RngPurpose::kTest);
    for (float& x : images) x = rng.Normal();
    for (int i = 0; i < n; ++i) labels[i] = i % 10;
  }
  Batch batch() const { return Batch{images, labels}; }
};

std::vector<float> Logits(const Model& m, const TestBatch& b) {
  std::vector<float> out(b.labels.size() * 10);
  EXPECT_TRUE(m.Logits(b.batch(), out).ok());
  return out;
}

TEST(ModelTest, ParametersAreNamedViewsOfOneContiguousBuffer) {
  for (ModelKind kind : {ModelKind::kMlp, ModelKind::kCnn}) {
    std::unique_ptr<Model> m = Make(kind, 1);
    size_t expected = kind == ModelKind::kMlp ? 784 * 256 + 256 + 256 * 10 + 10
                                              : 16 * 25 + 16 + 32 * 16 * 25 + 32 + 10 * 512 + 10;
    EXPECT_EQ(m->num_parameters(), expected);
    size_t offset = 0;
    for (const NamedParameter& p : m->parameters()) {
      EXPECT_EQ(p.offset, offset) << p.name;
      EXPECT_EQ(p.values.data(), m->flat_parameters().data() + offset) << p.name;
      EXPECT_EQ(p.grads.data(), m->flat_gradients().data() + offset) << p.name;
      size_t numel = 1;
      for (int64_t d : p.shape) numel *= static_cast<size_t>(d);
      EXPECT_EQ(p.values.size(), numel) << p.name;
      offset += numel;
    }
    EXPECT_EQ(offset, m->num_parameters());
  }
  EXPECT_EQ(Make(ModelKind::kCnn, 1)->parameters()[4].name, "fc.weight");
}

TEST(ModelTest, InitialisationIsSeededAndWithinTheDefaultBound) {
  std::unique_ptr<Model> a = Make(ModelKind::kCnn, 5), b = Make(ModelKind::kCnn, 5), c = Make(ModelKind::kCnn, 6);
  auto pa = a->flat_parameters(), pb = b->flat_parameters(), pc = c->flat_parameters();
  EXPECT_TRUE(std::equal(pa.begin(), pa.end(), pb.begin()));
  EXPECT_FALSE(std::equal(pa.begin(), pa.end(), pc.begin()));
  for (const NamedParameter& p : a->parameters()) {
    int64_t fan_in = p.name.starts_with("conv1") ? 25 : p.name.starts_with("conv2") ? 400 : 512;
    float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
    for (float v : p.values) ASSERT_LE(std::fabs(v), bound) << p.name;
  }
}

TEST(ModelTest, WritingTheFlatBufferChangesTheOutput) {
  std::unique_ptr<Model> m = Make(ModelKind::kMlp, 2);
  TestBatch b(4);
  std::vector<float> before = Logits(*m, b);
  // Raise fc2.bias[3] by one: logit 3 of every sample rises by one.
  const NamedParameter& bias = m->parameters()[3];
  ASSERT_EQ(bias.name, "fc2.bias");
  m->flat_parameters()[bias.offset + 3] += 1.0f;
  std::vector<float> after = Logits(*m, b);
  for (int i = 0; i < 4; ++i) {
    for (int k = 0; k < 10; ++k) {
      EXPECT_NEAR(after[i * 10 + k] - before[i * 10 + k], k == 3 ? 1.0f : 0.0f, 1e-5f);
    }
  }
  // All parameters zero: all logits zero.
  std::fill(m->flat_parameters().begin(), m->flat_parameters().end(), 0.0f);
  for (float x : Logits(*m, b)) EXPECT_EQ(x, 0.0f);
}

TEST(ModelTest, BackwardAccumulatesIntoTheFlatGradients) {
  for (ModelKind kind : {ModelKind::kMlp, ModelKind::kCnn}) {
    std::unique_ptr<Model> m = Make(kind, 3);
    TestBatch b(8);
    m->ZeroGradients();
    Result<float> loss = m->ForwardBackward(b.batch());
    ASSERT_TRUE(loss.ok()) << loss.status().ToString();
    EXPECT_NEAR(*loss, std::log(10.0f), 1.0f);
    std::vector<float> g1(m->flat_gradients().begin(), m->flat_gradients().end());
    EXPECT_GT(std::count_if(g1.begin(), g1.end(), [](float g) { return g != 0.0f; }), 0);
    ASSERT_TRUE(m->ForwardBackward(b.batch()).ok());
    auto g2 = m->flat_gradients();
    // Not bit-exact: the second sum may round differently inside the BLAS.
    for (size_t i = 0; i < g1.size(); ++i) ASSERT_NEAR(g2[i], 2.0f * g1[i], 1e-6f * (1 + std::fabs(g1[i]))) << i;
    EXPECT_TRUE(m->CheckStorage().ok());
    m->ZeroGradients();
    for (float g : m->flat_gradients()) ASSERT_EQ(g, 0.0f);
  }
}

TEST(ModelTest, GradientMatchesFiniteDifferences) {
  std::unique_ptr<Model> m = Make(ModelKind::kMlp, 4, 16);
  TestBatch b(10);
  m->ZeroGradients();
  ASSERT_TRUE(m->ForwardBackward(b.batch()).ok());
  auto loss_at = [&] {
    BatchEval e = *m->Evaluate(b.batch());
    return e.loss_sum / static_cast<double>(e.count);
  };
  const NamedParameter& bias = m->parameters()[3];
  for (size_t k = 0; k < 10; ++k) {
    float& x = m->flat_parameters()[bias.offset + k];
    const float h = 1e-2f, x0 = x;
    x = x0 + h;
    double up = loss_at();
    x = x0 - h;
    double down = loss_at();
    x = x0;
    EXPECT_NEAR((up - down) / (2 * h), bias.grads[k], 2e-3) << k;
  }
}

TEST(ModelTest, StorageSurvivesOptimizerSteps) {
  std::unique_ptr<Model> m = Make(ModelKind::kCnn, 7);
  algo::AdamW opt(m->num_parameters(), algo::AdamWOptions{});
  TestBatch b(16);
  std::vector<float> before = Logits(*m, b);
  for (int i = 0; i < 3; ++i) {
    m->ZeroGradients();
    ASSERT_TRUE(m->ForwardBackward(b.batch()).ok());
    opt.Step(m->flat_parameters(), m->flat_gradients(), 1e-2f);
  }
  EXPECT_TRUE(m->CheckStorage().ok());
  EXPECT_NE(Logits(*m, b), before);  // the steps reached the torch tensors
}

TEST(ModelTest, BadBatchesAreInvalidArgument) {
  std::unique_ptr<Model> m = Make(ModelKind::kMlp, 1);
  TestBatch b(4);
  b.labels[2] = 10;
  EXPECT_EQ(m->ForwardBackward(b.batch()).status().code(), StatusCode::kInvalidArgument);
  b.labels[2] = 2;
  EXPECT_EQ(m->Evaluate(Batch{std::span<const float>(b.images).first(783), b.labels}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(m->Evaluate(Batch{}).status().code(), StatusCode::kInvalidArgument);
  std::vector<float> small(3);
  EXPECT_EQ(m->Logits(b.batch(), small).code(), StatusCode::kInvalidArgument);
}

TEST(ModelTest, BadOptionsAreInvalidArgument) {
  ModelOptions o;
  o.image_rows = 12;  // too small for two 5x5 convolutions and pools
  EXPECT_EQ(Model::Create(o).status().code(), StatusCode::kInvalidArgument);
  o = ModelOptions{};
  o.num_classes = 1;
  EXPECT_EQ(Model::Create(o).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseModelKind("resnet").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*ParseModelKind("cnn"), ModelKind::kCnn);
}

}  // namespace
}  // namespace tern::train
