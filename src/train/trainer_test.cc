#include "train/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "util/philox.h"

namespace tern::train {
namespace {

class TrainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    FashionMnistOptions o;
    o.max_train = 2048;
    o.max_test = 500;
    Result<FashionMnist> d = LoadFashionMnist(o);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    data_ = std::make_shared<const FashionMnist>(std::move(d).value());
  }

  static TrainerOptions Options() {
    TrainerOptions o;
    o.model.kind = ModelKind::kMlp;
    o.model.mlp_hidden = 32;
    o.model.seed = 17;
    o.batch_size = 32;
    o.data_seed = 99;
    return o;
  }

  static std::unique_ptr<Trainer> Make(const TrainerOptions& o = Options()) {
    std::vector<uint32_t> shard(1024);
    std::iota(shard.begin(), shard.end(), 0u);
    Result<std::unique_ptr<Trainer>> t = Trainer::Create(o, data_, shard);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return std::move(t).value();
  }

  static std::vector<float> RunSteps(Trainer& t, int n) {
    for (int i = 0; i < n; ++i) EXPECT_TRUE(t.Step().ok());
    return t.SnapshotParameters();
  }

  static std::shared_ptr<const FashionMnist> data_;
};
std::shared_ptr<const FashionMnist> TrainerTest::data_;

// "a2.1": hook a at step 2, attempt 1.
std::string Tag(char hook, const StepContext& ctx) {
  std::string tag(1, hook);
  tag += std::to_string(ctx.step);
  tag += '.';
  tag += std::to_string(ctx.attempt);
  return tag;
}

// Records what each hook saw; optionally fails one call.
class RecordingHooks : public StepHooks {
 public:
  std::vector<float> snapshot;  // parameters when the step began (set by test)
  std::vector<std::string> calls;
  bool params_unchanged_at_a = true, grads_nonzero_at_a = true, params_changed_at_b = true;
  std::vector<float> lrs;
  int fail_a_at_step = -1, fail_b_at_step = -1;
  bool zero_grads = false;

  Status AfterBackward(const StepContext& ctx) override {
    calls.push_back(Tag('a', ctx));
    if (ctx.step == fail_a_at_step && ctx.attempt == 0) return UnavailableError("peer gone");
    if (!snapshot.empty()) {
      params_unchanged_at_a &= std::equal(snapshot.begin(), snapshot.end(), ctx.parameters.begin());
    }
    grads_nonzero_at_a &= std::any_of(ctx.gradients.begin(), ctx.gradients.end(), [](float g) { return g != 0; });
    if (zero_grads) std::fill(ctx.gradients.begin(), ctx.gradients.end(), 0.0f);
    lrs.push_back(ctx.lr);
    return OkStatus();
  }
  Status AfterOptimizerStep(const StepContext& ctx) override {
    calls.push_back(Tag('b', ctx));
    if (ctx.step == fail_b_at_step && ctx.attempt == 0) return AbortedError("new revision");
    if (!snapshot.empty()) {
      params_changed_at_b &= !std::equal(snapshot.begin(), snapshot.end(), ctx.parameters.begin());
    }
    return OkStatus();
  }
};

TEST_F(TrainerTest, StepsReportStats) {
  auto t = Make();
  Result<StepStats> s = t->Step();
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->step, 0);
  EXPECT_EQ(s->batch_size, 32);
  EXPECT_EQ(s->attempts, 1);
  EXPECT_TRUE(std::isfinite(s->loss));
  EXPECT_FLOAT_EQ(s->lr, 1e-3f);
  EXPECT_GT(s->total_seconds, 0.0);
  EXPECT_GE(s->total_seconds, s->compute_seconds + s->optimizer_seconds);
  EXPECT_EQ(t->step(), 1);
  EXPECT_EQ(t->samples_seen(), 32);
  EXPECT_TRUE(t->model().CheckStorage().ok());
}

TEST_F(TrainerTest, HooksRunInOrderAroundTheOptimizer) {
  auto t = Make();
  RecordingHooks h;
  t->SetStepHooks(&h);
  for (int i = 0; i < 3; ++i) {
    h.snapshot = t->SnapshotParameters();
    ASSERT_TRUE(t->Step().ok());
  }
  EXPECT_EQ(h.calls, (std::vector<std::string>{"a0.0", "b0.0", "a1.0", "b1.0", "a2.0", "b2.0"}));
  EXPECT_TRUE(h.params_unchanged_at_a);
  EXPECT_TRUE(h.grads_nonzero_at_a);
  EXPECT_TRUE(h.params_changed_at_b);
}

TEST_F(TrainerTest, AfterBackwardCanRewriteTheGradient) {
  TrainerOptions o = Options();
  o.adamw.weight_decay = 0.0f;
  auto t = Make(o);
  RecordingHooks h;
  h.zero_grads = true;  // a zero gradient moves nothing (no weight decay)
  t->SetStepHooks(&h);
  std::vector<float> before = t->SnapshotParameters();
  EXPECT_EQ(RunSteps(*t, 3), before);
}

TEST_F(TrainerTest, FailedHookLeavesTheStepPendingAndTheRetryIsExact) {
  std::vector<float> reference = RunSteps(*Make(), 5);
  for (bool fail_in_a : {true, false}) {
    auto t = Make();
    RecordingHooks h;
    (fail_in_a ? h.fail_a_at_step : h.fail_b_at_step) = 2;
    t->SetStepHooks(&h);
    RunSteps(*t, 2);
    Result<StepStats> failed = t->Step();
    EXPECT_EQ(failed.status().code(), fail_in_a ? StatusCode::kUnavailable : StatusCode::kAborted);
    EXPECT_TRUE(t->has_pending_step());
    EXPECT_EQ(t->step(), 2);
    Result<StepStats> retried = t->Step();  // resumes at the failed hook
    ASSERT_TRUE(retried.ok()) << retried.status().ToString();
    EXPECT_EQ(retried->attempts, 2);
    EXPECT_EQ(retried->step, 2);
    EXPECT_FALSE(t->has_pending_step());
    EXPECT_EQ(RunSteps(*t, 2), reference) << "fail_in_a " << fail_in_a;
    std::vector<std::string> expected =
        fail_in_a ? std::vector<std::string>{"a2.0", "a2.1", "b2.1"} : std::vector<std::string>{"a2.0", "b2.0", "b2.1"};
    EXPECT_EQ(std::vector<std::string>(h.calls.begin() + 4, h.calls.begin() + 7), expected);
  }
}

TEST_F(TrainerTest, AbandonedStepDoesNotCount) {
  auto t = Make();
  RecordingHooks h;
  h.fail_a_at_step = 0;
  t->SetStepHooks(&h);
  EXPECT_FALSE(t->Step().ok());
  t->AbandonPendingStep();
  EXPECT_FALSE(t->has_pending_step());
  EXPECT_EQ(t->step(), 0);
  EXPECT_EQ(t->samples_seen(), 0);
}

// Two-point SPSA along a Rademacher direction, as a ZO strategy would do it.
class SpsaHooks : public StepHooks {
 public:
  int loss_calls = 0;
  bool same_params_same_loss = true, perturbation_changes_loss = true, grads_untouched = true;
  bool ZerothOrder() const override { return true; }
  Status ZerothOrderStep(const StepContext& ctx, const LossFn& loss) override {
    EXPECT_TRUE(std::isnan(ctx.loss));
    RngStream rng(1, RngPurpose::kZoPerturbation, ctx.step, 0);
    std::vector<float> z(ctx.parameters.size());
    for (float& v : z) v = rng.Rademacher();
    const float eps = 1e-3f;
    TERN_ASSIGN_OR_RETURN(float base, loss());
    TERN_ASSIGN_OR_RETURN(float again, loss());
    same_params_same_loss &= base == again;
    for (size_t i = 0; i < z.size(); ++i) ctx.parameters[i] += eps * z[i];
    TERN_ASSIGN_OR_RETURN(float up, loss());
    for (size_t i = 0; i < z.size(); ++i) ctx.parameters[i] -= 2 * eps * z[i];
    TERN_ASSIGN_OR_RETURN(float down, loss());
    perturbation_changes_loss &= up != down;
    float g = (up - down) / (2 * eps);
    for (size_t i = 0; i < z.size(); ++i) ctx.parameters[i] += eps * z[i] - ctx.lr * g * z[i];
    grads_untouched &= std::all_of(ctx.gradients.begin(), ctx.gradients.end(), [](float x) { return x == 0; });
    loss_calls += 4;
    return OkStatus();
  }
};

TEST_F(TrainerTest, ZerothOrderHookReplacesBackwardAndOptimizer) {
  auto t = Make();
  t->model().ZeroGradients();
  SpsaHooks h;
  t->SetStepHooks(&h);
  std::vector<float> before = t->SnapshotParameters();
  for (int i = 0; i < 3; ++i) {
    Result<StepStats> s = t->Step();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_TRUE(std::isnan(s->loss));
  }
  EXPECT_EQ(h.loss_calls, 12);
  EXPECT_TRUE(h.same_params_same_loss);
  EXPECT_TRUE(h.perturbation_changes_loss);
  EXPECT_TRUE(h.grads_untouched);
  EXPECT_NE(t->SnapshotParameters(), before);
  EXPECT_EQ(t->step(), 3);
}

TEST_F(TrainerTest, EvaluationUsesTheCurrentParameters) {
  auto t = Make();
  std::fill(t->flat_parameters().begin(), t->flat_parameters().end(), 0.0f);
  Result<EvalResult> e = t->Evaluate(200);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  // All logits equal: the loss is ln 10 and argmax picks class 0.
  int zeros = static_cast<int>(std::count(data_->test.labels.begin(), data_->test.labels.begin() + 200, 0));
  EXPECT_EQ(e->samples, 200);
  EXPECT_NEAR(e->loss, std::log(10.0), 1e-5);
  EXPECT_DOUBLE_EQ(e->accuracy, zeros / 200.0);
  EXPECT_EQ(t->Evaluate(-1)->samples, 500);
}

TEST_F(TrainerTest, EvaluatesOtherParametersAndKeepsItsOwn) {
  auto t = Make();
  std::vector<float> own = t->SnapshotParameters();
  Result<EvalResult> e = t->EvaluateParameters(std::vector<float>(own.size(), 0.0f), 100);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_NEAR(e->loss, std::log(10.0), 1e-5);  // all-zero parameters
  EXPECT_EQ(t->SnapshotParameters(), own);
  EXPECT_EQ(t->EvaluateParameters(std::vector<float>(5)).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(TrainerTest, SnapshotRestoreRoundTrips) {
  auto t = Make();
  std::vector<float> start = t->SnapshotParameters();
  RunSteps(*t, 2);
  EXPECT_NE(t->SnapshotParameters(), start);
  ASSERT_TRUE(t->RestoreParameters(start).ok());
  EXPECT_EQ(t->SnapshotParameters(), start);
  EXPECT_EQ(t->RestoreParameters(std::vector<float>(3)).code(), StatusCode::kInvalidArgument);
}

TEST_F(TrainerTest, LearningRateScheduleReachesTheHooks) {
  auto t = Make();
  LrSchedule cosine = LrSchedule::Cosine(1e-2f, 2, 6, 1e-4f);
  ASSERT_TRUE(t->SetLrSchedule(cosine).ok());
  RecordingHooks h;
  t->SetStepHooks(&h);
  RunSteps(*t, 8);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(h.lrs[i], cosine.At(i)) << i;
  EXPECT_EQ(t->CurrentLr(), 1e-4f);
  EXPECT_EQ(t->SetLrSchedule(LrSchedule::Cosine(1e-2f, 5, 5)).code(), StatusCode::kInvalidArgument);
}

TEST_F(TrainerTest, SetStepContinuesTheScheduleAndTheBatchesOfThatStep) {
  TrainerOptions o = Options();
  ASSERT_TRUE(o.schedule.kind == LrSchedule::Kind::kConstant);
  o.schedule = LrSchedule::Cosine(1e-2f, 2, 100, 1e-3f);
  std::unique_ptr<Trainer> ran = Make(o), joined = Make(o);
  RunSteps(*ran, 37);  // past one epoch of 1024 / 32 batches
  // The joiner gets the run's parameters (as a sync would give it) and its
  // step: its next step must see the same batch (same loss at the same
  // parameters) and the same learning rate.
  ASSERT_TRUE(joined->RestoreParameters(ran->SnapshotParameters()).ok());
  joined->SetStep(37);
  EXPECT_EQ(joined->step(), 37);
  EXPECT_EQ(joined->CurrentLr(), ran->CurrentLr());
  Result<StepStats> a = ran->Step(), b = joined->Step();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(b->step, 37);
  EXPECT_EQ(b->lr, a->lr);
  EXPECT_NE(b->lr, 1e-2f);  // not the schedule's step 0 (warmup) or peak
  EXPECT_EQ(b->loss, a->loss);
  joined->SetStep(38);  // the same step: nothing moves
  Result<StepStats> a2 = ran->Step(), b2 = joined->Step();
  ASSERT_TRUE(a2.ok() && b2.ok());
  EXPECT_EQ(b2->step, 38);
  EXPECT_EQ(b2->lr, a2->lr);
}

TEST_F(TrainerTest, CreateRejectsBadInputs) {
  EXPECT_EQ(Trainer::Create(Options(), data_, {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Trainer::Create(Options(), data_, {0, 2048}).status().code(), StatusCode::kInvalidArgument);
  TrainerOptions o = Options();
  o.batch_size = 0;
  EXPECT_EQ(Trainer::Create(o, data_, {0, 1}).status().code(), StatusCode::kInvalidArgument);
  o = Options();
  o.model.image_rows = 20;
  EXPECT_EQ(Trainer::Create(o, data_, {0, 1}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Trainer::Create(Options(), nullptr, {0, 1}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tern::train
