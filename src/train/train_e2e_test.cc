// End to end: real Fashion-MNIST, a small MLP, a few hundred steps, one
// worker's shard of a 4-way IID split. Learns well above chance and is
// deterministic bit for bit.
#include <gtest/gtest.h>

#include "train/partition.h"
#include "train/runtime.h"
#include "train/trainer.h"

namespace tern::train {
namespace {

struct RunResult {
  std::vector<float> params;
  EvalResult eval;
};

RunResult Train(std::shared_ptr<const FashionMnist> data, uint64_t seed) {
  Result<Shards> shards = PartitionIid(data->train.count, 4, seed);
  EXPECT_TRUE(shards.ok());
  TrainerOptions o;
  o.model.kind = ModelKind::kMlp;
  o.model.mlp_hidden = 64;
  o.model.seed = seed;
  o.data_seed = seed;
  o.data_stream = 1;
  o.batch_size = 32;
  o.schedule = LrSchedule::Cosine(2e-3f, 20, 300, 1e-4f);
  Result<std::unique_ptr<Trainer>> t = Trainer::Create(o, data, (*shards)[1]);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  for (int i = 0; i < 300; ++i) EXPECT_TRUE((*t)->Step().ok());
  Result<EvalResult> e = (*t)->Evaluate();
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return {(*t)->SnapshotParameters(), *e};
}

TEST(TrainEndToEndTest, SmallMlpLearnsAndIsDeterministic) {
  ASSERT_TRUE(InitTrainerRuntime(1).ok());
  FashionMnistOptions d;
  d.max_train = 8000;
  d.max_test = 2000;
  Result<FashionMnist> loaded = LoadFashionMnist(d);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  auto data = std::make_shared<const FashionMnist>(std::move(loaded).value());

  RunResult a = Train(data, 7);
  EXPECT_GT(a.eval.accuracy, 0.5) << "10 classes: chance is 0.1";
  EXPECT_LT(a.eval.loss, 1.5);
  RunResult b = Train(data, 7);
  EXPECT_EQ(a.params, b.params) << "same seed must give the same bits";
  EXPECT_EQ(a.eval.accuracy, b.eval.accuracy);
  RunResult c = Train(data, 8);
  EXPECT_NE(a.params, c.params);
  std::printf("e2e: test accuracy %.4f, loss %.4f on %lld images\n", a.eval.accuracy, a.eval.loss,
              static_cast<long long>(a.eval.samples));
}

}  // namespace
}  // namespace tern::train
