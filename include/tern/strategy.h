// Strategy: what a training step communicates, and when (DESIGN.md, "algo").
//
// A Strategy works on a model's flat fp32 parameter and gradient buffers
// (owned by the trainer) over a Communicator, through three hooks with the
// meaning of the trainer's step hooks (src/train/step_hooks.h):
//
//   batch -> backward -> AfterBackward       data-parallel averages gradients
//         -> inner optimizer (the trainer's)
//         -> AfterOptimizerStep              DiLoCo family, NoLoCo, local SGD
//                                            and CO2 communicate here and
//                                            rewrite the parameters
//   or, if ZerothOrder():
//   batch -> ZerothOrderStep(loss closure)   two loss evaluations, one byte
//                                            sent, the update applied
//
// Strategies: "ddp", "diloco", "streaming-diloco", "async-diloco", "noloco",
// "local-sgd", "co2", "zo"; their update rules, defaults and state are in
// docs/strategies.md, their options in tern/algo_options.h.
//
// Failures and retries (DESIGN.md semantics 1, 2, 5). A hook that fails
// leaves the model's buffers and the strategy's state exactly as they were
// (collectives are atomic, and strategies change their own state only after
// their collectives succeeded) and returns the collective's code:
// kUnavailable, kDeadlineExceeded, kAborted, kDataLoss. A failure of a
// background operation (Streaming DiLoCo with sync_delay >= 1, async
// DiLoCo, CO2) surfaces at the hook that waits for it. The caller then
// reaches a safe point and re-runs the hook:
//
//   Status s = strategy->AfterOptimizerStep(info);
//   while (!s.ok() && retryable(s)) {
//     strategy->BeforeSafePoint();          // no background op outstanding
//     world->UpdateTopology(timeout);       // joins and departures
//     comm->Connect(timeout);
//     sync the State() tensors marked replicated and ReplicatedMetadata()
//       (tern/shared_state.h): joiners receive them, hashes compared
//     strategy->AfterSafePoint();           // joiner rule, per-peer re-init
//     info.attempt++;  s = strategy->AfterOptimizerStep(info);
//   }
//
// The schedule (which step syncs, which fragment, which NoLoCo pairs) follows
// the strategy's replicated step counter, not the caller's step number, so a
// joiner or a peer whose state was repaired at a safe point issues the same
// collectives as the others.
//
// Thread-safety: thread-compatible. Call a strategy from one thread at a
// time; it may run one collective in the background itself.
//
// Example (four workers of a DiLoCo run; one of them shown):
//   tern::DiLoCoOptions o;
//   o.sync_every = 100;
//   o.codec = "int8:block=256";
//   TERN_ASSIGN_OR_RETURN(std::unique_ptr<tern::Strategy> s, tern::Strategy::Create(o));
//   TERN_RETURN_IF_ERROR(s->Attach(comm.get(), world.get(),
//                                  {.parameters = params, .gradients = grads}));
//   for (int64_t t = 0; t < steps; ++t) {
//     backward(params, grads);
//     TERN_RETURN_IF_ERROR(s->AfterBackward({.step = t}));
//     inner_optimizer.Step(params, grads);
//     TERN_RETURN_IF_ERROR(s->AfterOptimizerStep({.step = t}));
//   }
//   TERN_RETURN_IF_ERROR(s->Finish());
//   s->GlobalParameters(eval_params);
#ifndef TERN_STRATEGY_H_
#define TERN_STRATEGY_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tern/algo_options.h"
#include "tern/communicator.h"
#include "tern/export.h"
#include "tern/status.h"
#include "tern/world.h"

namespace tern {

// One named parameter inside the flat buffers.
struct ParamSlice {
  std::string name;            // "layers.3.attn.q.weight", "fc1.bias", ...
  size_t offset = 0;           // in floats
  size_t numel = 0;
  std::vector<int64_t> shape;  // PowerSGD views [dim0, numel / dim0]; may be empty
};

// A named fp32 state buffer (of the strategy, or of the trainer).
struct StateTensor {
  std::string name;
  // Identical on every peer: hash it and sync it at safe points. Otherwise
  // per-peer (never sent; re-initialised by the strategy's joiner rule).
  bool replicated = false;
  std::span<float> values;
};

// The trainer's buffers, owned by the trainer, which must keep them alive
// and at the same addresses while the strategy is attached.
struct ModelBuffers {
  std::span<float> parameters;
  std::span<float> gradients;  // same size; may be empty for "zo"
  // In flat order, covering the buffer without gaps. Empty = one slice
  // "params" of the whole buffer (one layer).
  std::vector<ParamSlice> layout;
  // The inner optimizer's state (e.g. AdamW moments). The strategy only
  // declares it: replicated for "ddp" (every peer applies the same averaged
  // gradient), per-peer otherwise. Names must be unique.
  std::vector<StateTensor> optimizer_state;
};

// What the caller knows about the step (the trainer's StepContext).
struct StepInfo {
  int64_t step = 0;  // the caller's 0-based step (informational)
  int attempt = 0;   // 0, then 1, 2, ... when a failed hook is re-run
  float lr = 0.0f;   // the inner learning rate of this step (informational)
};

// Mean loss of the current batch at the current contents of the attached
// parameter buffer; one forward pass, no gradient. Called only during
// ZerothOrderStep.
using LossFn = std::function<Result<float>()>;

// Counters over the strategy's life (all collectives it ran, successful or
// not; payload plus frame headers, as Communicator's OpStats).
struct StrategyStats {
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t collectives = 0;
  // The most bytes this peer sent in one collective call.
  uint64_t peak_message_bytes = 0;
  // Outer steps / averages / exchanges / ZO updates that took effect.
  uint64_t syncs = 0;
  // Hooks that returned an error.
  uint64_t failures = 0;
};

class TERN_EXPORT Strategy {
 public:
  // Builds the strategy; codec specs are parsed here.
  // Errors: kInvalidArgument (a config that ValidateStrategyConfig refuses,
  // or a bad codec spec). Does not block.
  static Result<std::unique_ptr<Strategy>> Create(const StrategyConfig& config);
  // ParseStrategyConfig(name, params), then Create.
  static Result<std::unique_ptr<Strategy>> Create(std::string_view name,
                                                  const StrategyParams& params = {});

  virtual ~Strategy() = default;
  Strategy(const Strategy&) = delete;
  Strategy& operator=(const Strategy&) = delete;

  virtual std::string_view name() const = 0;
  // CanonicalConfig of the config the strategy was created with.
  virtual const std::string& config() const = 0;

  // Binds the strategy to a communicator, its world, and the model's
  // buffers, and allocates its state from the current parameters (every
  // peer must start from the same ones, or sync before the first hook).
  // `comm` must be a communicator over `world`; both, and the buffers, must
  // outlive the strategy. Call once, before any hook. Does not communicate.
  // Errors: kInvalidArgument (sizes differ, a layout with gaps or overlaps,
  // fewer layers than fragments, missing gradients for a first-order
  // strategy), kFailedPrecondition (already attached).
  virtual Status Attach(Communicator* comm, World* world, ModelBuffers model) = 0;

  // Hook (a): after backward, before the inner optimizer. "ddp" replaces the
  // gradients by their average over the world; the others do nothing.
  // Blocks for the all-reduce. Errors: the collective's; kFailedPrecondition
  // if not attached.
  virtual Status AfterBackward(const StepInfo& info) = 0;

  // Hook (b): after the inner optimizer updated the parameters. Counts the
  // step, and on sync steps communicates and rewrites the parameters.
  // Blocks for synchronous collectives and for background ones it consumes.
  // Errors: the collective's (the step is then not counted; re-run it).
  virtual Status AfterOptimizerStep(const StepInfo& info) = 0;

  // Hook (c): true for "zo", whose caller skips backward, the inner
  // optimizer and hooks (a) and (b) and calls ZerothOrderStep instead.
  virtual bool ZerothOrder() const { return false; }
  // Perturbs the parameters, evaluates `loss` twice, exchanges one byte (or
  // float) per peer and applies every peer's update; on return the buffer
  // holds the updated parameters, or on error exactly what it held before.
  // Errors: the collective's; the loss closure's; kDataLoss for a peer's
  // malformed scalar; kUnimplemented for strategies other than "zo".
  virtual Status ZerothOrderStep(const StepInfo& info, const LossFn& loss) = 0;

  // --- State (DESIGN.md semantic 4) ---

  // Every state buffer, replicated ones first, with stable names (for
  // example "outer.params", "outer.state1", "model.params"). A safe-point
  // sync writes replicated ones through the spans. Take the list afresh at
  // each safe point (StrategySync does): the strategy's own buffers stay put
  // while attached, but error-feedback buffers ("*.ef.*") may move when the
  // codec commits. Per-peer entries are listed for inspection only.
  virtual std::vector<StateTensor> State() = 0;
  // The small replicated values (config hash, step, members at the last
  // safe point) in a versioned little-endian encoding.
  virtual std::string ReplicatedMetadata() const = 0;
  // Adopts metadata produced by a peer's ReplicatedMetadata(). The bytes are
  // untrusted: kDataLoss if malformed, kInvalidArgument if they come from a
  // different strategy configuration; state is unchanged on error.
  virtual Status SetReplicatedMetadata(std::string_view bytes) = 0;

  // Call before UpdateTopology(): waits for the strategy's background
  // operation (keeping its result for the hook that consumes it) and notes
  // the replicated state's hash. Blocks. Always OK once attached.
  virtual Status BeforeSafePoint() = 0;
  // Call after the safe point's state sync, on every member of the new
  // revision. A joiner (a peer missing from the replicated member list), and
  // a peer whose replicated state the sync replaced, re-initialise their
  // per-peer state by the strategy's rule (docs/strategies.md); background
  // results from an older revision are dropped. NoLoCo's joiners copy their
  // outer parameters from a donor here (point-to-point; blocks).
  // Errors: the collective's (NoLoCo), kFailedPrecondition.
  virtual Status AfterSafePoint() = 0;

  // End of training: waits for a background operation and applies its
  // result (the last delayed outer step), so GlobalParameters() reflects all
  // communicated work. All peers call it. Blocks. Errors: the collective's.
  virtual Status Finish() = 0;

  // The parameters to evaluate, copied into `out` (size of the buffers):
  // the outer parameters for the DiLoCo family, local SGD and CO2; this
  // peer's parameters for "ddp", "zo" and "noloco".
  // Errors: kInvalidArgument (size), kFailedPrecondition (not attached).
  virtual Status GlobalParameters(std::span<float> out) const = 0;

  // The replicated step counter: inner steps completed by the run.
  virtual int64_t step() const = 0;
  virtual StrategyStats stats() const = 0;

 protected:
  Strategy() = default;
};

}  // namespace tern

#endif  // TERN_STRATEGY_H_
