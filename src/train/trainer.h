// One worker's trainer: batches from its shard, the model, the inner AdamW,
// evaluation, and the hook points a strategy plugs into (step_hooks.h).
//
// The trainer owns a Model (flat parameter and gradient buffers, model.h)
// and an AdamW (its moments stay on the worker unless a strategy declares
// them replicated, as data-parallel does). Step() runs one inner
// step on the next batch of the shard; a StepHooks object, if set, sees the
// step at its hook points and may all-reduce gradients, run an outer step on
// the parameters, or replace the step by a zeroth-order one. A hook error
// leaves the step pending and Step() returns it; calling Step() again
// retries from the failed hook (see step_hooks.h).
//
// This header does not include torch.
//
//   auto data = std::make_shared<const FashionMnist>(*LoadFashionMnist());
//   TERN_ASSIGN_OR_RETURN(Shards shards, PartitionIid(data->train.count, 4, seed));
//   TrainerOptions o; o.model.kind = ModelKind::kCnn; o.data_stream = rank;
//   TERN_ASSIGN_OR_RETURN(auto t, Trainer::Create(o, data, shards[rank]));
//   t->SetStepHooks(&diloco_adapter);
//   for (int i = 0; i < 1000; ++i) {
//     Result<StepStats> s = t->Step();
//     if (!s.ok()) { /* UpdateTopology(), then Step() retries */ }
//   }
//   TERN_ASSIGN_OR_RETURN(EvalResult e, t->Evaluate());
//
// Thread-safety: thread-compatible; hooks run on the caller's thread.
#ifndef TERN_TRAIN_TRAINER_H_
#define TERN_TRAIN_TRAINER_H_

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "algo/adamw.h"
#include "tern/status.h"
#include "train/dataset.h"
#include "train/model.h"
#include "train/step_hooks.h"

namespace tern::train {

// The trainer's optimizer and schedule are algo's (one implementation).
using algo::AdamW;
using algo::AdamWOptions;
using algo::LrSchedule;
using algo::ValidateAdamW;
using algo::ValidateLrSchedule;

struct TrainerOptions {
  ModelOptions model;  // architecture and initialisation seed
  int batch_size = 64;
  AdamWOptions adamw;
  LrSchedule schedule = LrSchedule::Constant(1e-3f);
  uint64_t data_seed = 0;    // batch order (with data_stream)
  uint64_t data_stream = 0;  // e.g. the worker's stable id: distinct orders
  int64_t eval_samples = -1;  // Evaluate()'s default: the first N test images (all if < 0)
  int eval_batch = 1000;      // forward-pass chunk during evaluation
};

// What one completed step did and how long it took (seconds, summed over
// retries).
struct StepStats {
  int64_t step = 0;  // the 0-based step just completed
  int attempts = 1;  // 1 + the number of retries after hook errors
  int64_t batch_size = 0;
  float loss = 0.0f;  // mean batch loss before the update (NaN on the ZO path)
  float lr = 0.0f;
  double data_seconds = 0;      // batch assembly
  double compute_seconds = 0;   // forward and backward
  double optimizer_seconds = 0;
  double hook_seconds = 0;      // (a) + (b), or (c) with its forward passes
  double total_seconds = 0;
};

struct EvalResult {
  double accuracy = 0;
  double loss = 0;  // mean cross-entropy
  int64_t samples = 0;
  double seconds = 0;
};

class Trainer {
 public:
  // `data` is shared read-only (several trainers may use one copy); `shard`
  // holds indices into data->train. Returns kInvalidArgument for an empty
  // shard, an index out of range, images that do not fit the model, or bad
  // optimizer, schedule or batch options (batch_size in [1, 65536],
  // eval_batch in [1, 65536]); kInternal if torch fails.
  static Result<std::unique_ptr<Trainer>> Create(const TrainerOptions& options,
                                                 std::shared_ptr<const FashionMnist> data,
                                                 std::vector<uint32_t> shard);
  ~Trainer();

  // Hooks for the following steps; nullptr for plain local training. Not
  // owned; must outlive their use. REQUIRES: no pending step.
  void SetStepHooks(StepHooks* hooks);

  // Runs one inner step (or resumes a pending one at the hook that failed).
  // Returns the hook's status if a hook fails (the step stays pending),
  // kInternal if torch fails. Blocks for the compute and whatever the hooks
  // do.
  Result<StepStats> Step();
  bool has_pending_step() const;
  // Drops a pending step: parameters keep whatever the completed phases
  // wrote (the optimizer update, if it ran); the step counter does not
  // advance.
  void AbandonPendingStep();

  // Test accuracy and loss of the current parameters on the first
  // `max_samples` test images (options.eval_samples if 0 or omitted, all if
  // negative). kFailedPrecondition if there is no test data; kInternal if
  // torch fails. Blocks (compute).
  Result<EvalResult> Evaluate(int64_t max_samples = 0);

  // Evaluate() on `params` (e.g. a strategy's global parameters) instead of
  // the current ones, which are restored afterwards. kInvalidArgument if the
  // size differs from num_parameters(); otherwise as Evaluate().
  Result<EvalResult> EvaluateParameters(std::span<const float> params, int64_t max_samples = 0);

  // Replaces the learning-rate schedule; kInvalidArgument if it is invalid.
  Status SetLrSchedule(const LrSchedule& schedule);
  float CurrentLr() const;  // the rate the next step will use

  // Makes `step` the next step's number, so the learning-rate schedule and
  // the batch sequence continue where a trainer that ran `step` steps
  // would be: a worker that joins a run mid-way (or whose state a safe
  // point repaired) follows the run's replicated step counter. A no-op if
  // `step` == step(); otherwise a pending step is dropped (it belonged to
  // the old position). The AdamW moments are untouched. REQUIRES: step >= 0.
  void SetStep(int64_t step);
  // Forgets AdamW's moments and step count.
  void ResetOptimizer();
  // The inner optimizer, e.g. to declare its moments to a strategy that
  // replicates them (data parallel).
  AdamW& optimizer();

  // A copy of the flat parameters, and writing one back.
  std::vector<float> SnapshotParameters() const;
  // kInvalidArgument if the size differs from num_parameters().
  Status RestoreParameters(std::span<const float> values);

  Model& model();
  const Model& model() const;
  std::span<float> flat_parameters();
  std::span<float> flat_gradients();
  std::span<const NamedParameter> parameters() const;

  int64_t step() const;          // completed steps
  int64_t samples_seen() const;  // samples of completed steps
  int64_t epoch() const;         // of the shard, 0-based
  size_t shard_size() const;

  struct State;

 private:
  explicit Trainer(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

}  // namespace tern::train

#endif  // TERN_TRAIN_TRAINER_H_
