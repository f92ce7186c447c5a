#include "train/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "train/batcher.h"
#include "util/check.h"
#include "util/clock.h"

namespace tern::train {
namespace {

// Where a step is; a pending step resumes at its phase.
enum class Phase { kIdle, kForward, kHookA, kOptimizer, kHookB, kZeroth };

Status CheckOptions(const TrainerOptions& o, const FashionMnist& data, const std::vector<uint32_t>& shard) {
  if (o.batch_size < 1 || o.batch_size > 65536) return InvalidArgumentError("batch_size must be in [1, 65536]");
  if (o.eval_batch < 1 || o.eval_batch > 65536) return InvalidArgumentError("eval_batch must be in [1, 65536]");
  TERN_RETURN_IF_ERROR(ValidateAdamW(o.adamw));
  TERN_RETURN_IF_ERROR(ValidateLrSchedule(o.schedule));
  if (shard.empty()) return InvalidArgumentError("the shard is empty");
  for (uint32_t i : shard) {
    if (static_cast<int64_t>(i) >= data.train.count) {
      return InvalidArgumentError("shard index " + std::to_string(i) + " is past the " +
                                  std::to_string(data.train.count) + " training images");
    }
  }
  if (data.train.rows != o.model.image_rows || data.train.cols != o.model.image_cols ||
      data.train.num_classes > o.model.num_classes) {
    return InvalidArgumentError("the data's images or classes do not fit the model options");
  }
  return OkStatus();
}

}  // namespace

struct Trainer::State {
  TrainerOptions options;
  std::shared_ptr<const FashionMnist> data;
  std::unique_ptr<Model> model;
  AdamW adamw;
  ShardBatcher batcher;
  StepHooks* hooks = nullptr;

  int64_t step = 0;
  int64_t samples = 0;
  // The step in flight.
  Phase phase = Phase::kIdle;
  StepStats stats;
  StepContext ctx;
  std::vector<float> images;
  std::vector<int64_t> labels;

  State(const TrainerOptions& o, std::shared_ptr<const FashionMnist> d, std::unique_ptr<Model> m,
        std::vector<uint32_t> shard)
      : options(o),
        data(std::move(d)),
        model(std::move(m)),
        adamw(model->num_parameters(), o.adamw),
        batcher(std::move(shard), o.batch_size, o.data_seed, o.data_stream) {}

  Batch CurrentBatch() const { return Batch{images, labels}; }

  void BeginStep() {
    double t0 = NowSeconds();
    AssembleBatch(data->train, batcher.Next(), &images, &labels);
    stats = StepStats{};
    stats.step = step;
    stats.batch_size = static_cast<int64_t>(labels.size());
    stats.lr = options.schedule.At(step);
    stats.data_seconds = NowSeconds() - t0;
    stats.attempts = 0;
    ctx = StepContext{};
    ctx.step = step;
    ctx.batch_size = stats.batch_size;
    ctx.lr = stats.lr;
    ctx.parameters = model->flat_parameters();
    ctx.gradients = model->flat_gradients();
    ctx.named = model->parameters();
    ctx.attempt = -1;
    bool zo = hooks != nullptr && hooks->ZerothOrder();
    phase = zo ? Phase::kZeroth : Phase::kForward;
    if (zo) ctx.loss = stats.loss = std::numeric_limits<float>::quiet_NaN();
  }

  // Runs `fn` and adds its duration to `*seconds`.
  template <typename Fn>
  auto Timed(double* seconds, Fn&& fn) {
    double t0 = NowSeconds();
    auto r = fn();
    *seconds += NowSeconds() - t0;
    return r;
  }

  Status RunPhases() {
    if (phase == Phase::kZeroth) {
      LossFn loss = [this]() -> Result<float> {
        TERN_ASSIGN_OR_RETURN(BatchEval e, model->Evaluate(CurrentBatch()));
        return static_cast<float>(e.loss_sum / static_cast<double>(e.count));
      };
      return Timed(&stats.hook_seconds, [&] { return hooks->ZerothOrderStep(ctx, loss); });
    }
    if (phase == Phase::kForward) {
      model->ZeroGradients();
      Result<float> loss = Timed(&stats.compute_seconds, [&] { return model->ForwardBackward(CurrentBatch()); });
      if (!loss.ok()) return loss.status();
      ctx.loss = stats.loss = *loss;
      phase = Phase::kHookA;
    }
    if (phase == Phase::kHookA) {
      if (hooks != nullptr) {
        TERN_RETURN_IF_ERROR(Timed(&stats.hook_seconds, [&] { return hooks->AfterBackward(ctx); }));
      }
      phase = Phase::kOptimizer;
    }
    if (phase == Phase::kOptimizer) {
      Timed(&stats.optimizer_seconds, [&] {
        adamw.Step(model->flat_parameters(), model->flat_gradients(), stats.lr);
        return 0;
      });
      phase = Phase::kHookB;
    }
    if (phase == Phase::kHookB && hooks != nullptr) {
      TERN_RETURN_IF_ERROR(Timed(&stats.hook_seconds, [&] { return hooks->AfterOptimizerStep(ctx); }));
    }
    return OkStatus();
  }
};

Result<std::unique_ptr<Trainer>> Trainer::Create(const TrainerOptions& options,
                                                 std::shared_ptr<const FashionMnist> data,
                                                 std::vector<uint32_t> shard) {
  if (data == nullptr) return InvalidArgumentError("no data");
  TERN_RETURN_IF_ERROR(CheckOptions(options, *data, shard));
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, Model::Create(options.model));
  return std::unique_ptr<Trainer>(
      new Trainer(std::make_unique<State>(options, std::move(data), std::move(model), std::move(shard))));
}

Trainer::Trainer(std::unique_ptr<State> state) : s_(std::move(state)) {}
Trainer::~Trainer() = default;

void Trainer::SetStepHooks(StepHooks* hooks) {
  TERN_CHECK(s_->phase == Phase::kIdle) << "SetStepHooks with a pending step";
  s_->hooks = hooks;
}

Result<StepStats> Trainer::Step() {
  double t0 = NowSeconds();
  if (s_->phase == Phase::kIdle) s_->BeginStep();
  ++s_->ctx.attempt;
  ++s_->stats.attempts;
  Status status = s_->RunPhases();
  s_->stats.total_seconds += NowSeconds() - t0;
  if (!status.ok()) return status;
  s_->phase = Phase::kIdle;
  ++s_->step;
  s_->samples += s_->stats.batch_size;
  return s_->stats;
}

bool Trainer::has_pending_step() const { return s_->phase != Phase::kIdle; }
void Trainer::AbandonPendingStep() { s_->phase = Phase::kIdle; }

Result<EvalResult> Trainer::Evaluate(int64_t max_samples) {
  const ImageSet& test = s_->data->test;
  if (test.count == 0) return FailedPreconditionError("no test data to evaluate on");
  if (max_samples == 0) max_samples = s_->options.eval_samples;
  const int64_t n = max_samples < 0 ? test.count : std::min(max_samples, test.count);
  double t0 = NowSeconds();
  EvalResult out;
  std::vector<uint32_t> idx;
  std::vector<float> images;
  std::vector<int64_t> labels;
  for (int64_t begin = 0; begin < n; begin += s_->options.eval_batch) {
    int64_t end = std::min<int64_t>(n, begin + s_->options.eval_batch);
    idx.resize(static_cast<size_t>(end - begin));
    for (int64_t i = begin; i < end; ++i) idx[i - begin] = static_cast<uint32_t>(i);
    AssembleBatch(test, idx, &images, &labels);
    TERN_ASSIGN_OR_RETURN(BatchEval e, s_->model->Evaluate(Batch{images, labels}));
    out.loss += e.loss_sum;
    out.accuracy += static_cast<double>(e.correct);
    out.samples += e.count;
  }
  out.loss /= static_cast<double>(out.samples);
  out.accuracy /= static_cast<double>(out.samples);
  out.seconds = NowSeconds() - t0;
  return out;
}

Result<EvalResult> Trainer::EvaluateParameters(std::span<const float> params, int64_t max_samples) {
  std::vector<float> saved = SnapshotParameters();
  TERN_RETURN_IF_ERROR(RestoreParameters(params));
  Result<EvalResult> out = Evaluate(max_samples);
  TERN_CHECK_OK(RestoreParameters(saved));
  return out;
}

Status Trainer::SetLrSchedule(const LrSchedule& schedule) {
  TERN_RETURN_IF_ERROR(ValidateLrSchedule(schedule));
  s_->options.schedule = schedule;
  return OkStatus();
}

float Trainer::CurrentLr() const { return s_->options.schedule.At(s_->step); }
void Trainer::ResetOptimizer() { s_->adamw.Reset(); }

void Trainer::SetStep(int64_t step) {
  TERN_CHECK_GE(step, 0);
  if (step == s_->step) return;
  s_->phase = Phase::kIdle;
  s_->step = step;
  s_->batcher.Seek(step);
}

AdamW& Trainer::optimizer() { return s_->adamw; }

std::vector<float> Trainer::SnapshotParameters() const {
  std::span<const float> p = std::as_const(*s_->model).flat_parameters();
  return {p.begin(), p.end()};
}

Status Trainer::RestoreParameters(std::span<const float> values) {
  std::span<float> p = s_->model->flat_parameters();
  if (values.size() != p.size()) {
    return InvalidArgumentError("snapshot has " + std::to_string(values.size()) + " floats, model has " +
                                std::to_string(p.size()));
  }
  std::memcpy(p.data(), values.data(), p.size_bytes());
  return OkStatus();
}

Model& Trainer::model() { return *s_->model; }
const Model& Trainer::model() const { return *s_->model; }
std::span<float> Trainer::flat_parameters() { return s_->model->flat_parameters(); }
std::span<float> Trainer::flat_gradients() { return s_->model->flat_gradients(); }
std::span<const NamedParameter> Trainer::parameters() const { return s_->model->parameters(); }
int64_t Trainer::step() const { return s_->step; }
int64_t Trainer::samples_seen() const { return s_->samples; }
int64_t Trainer::epoch() const { return std::max<int64_t>(0, s_->batcher.epoch()); }
size_t Trainer::shard_size() const { return s_->batcher.shard_size(); }

}  // namespace tern::train
