// Options of the training strategies (tern/strategy.h), one struct each.
//
// Every strategy has a struct with the defaults of its reference
// implementation (../shared/reference/training-algorithms.md; the values and
// the reasons are in docs/strategies.md). StrategyConfig holds any of them;
// ParseStrategyConfig builds one from a name and "key=value" parameters, for
// the CLI and the Python bindings. CanonicalConfig() prints a config with
// every field spelled out; its hash keys the replicated state, so peers that
// run different configurations never mistake each other's state for theirs.
//
// Thread-safety: plain values; the functions are pure and thread-safe.
//
// Example:
//   tern::DiLoCoOptions o;
//   o.sync_every = 100;
//   o.codec = "int8:block=256";
//   TERN_ASSIGN_OR_RETURN(auto s, tern::Strategy::Create(o));
//   // or, from flags:
//   TERN_ASSIGN_OR_RETURN(tern::StrategyConfig c, tern::ParseStrategyConfig(
//       "streaming-diloco", {{"h", "100"}, {"fragments", "4"}, {"codec", "fp4"}}));
#ifndef TERN_ALGO_OPTIONS_H_
#define TERN_ALGO_OPTIONS_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>

#include "tern/communicator.h"
#include "tern/export.h"
#include "tern/status.h"

namespace tern {

// Fields every strategy has.
struct CommonStrategyOptions {
  // The run's seed: keys NoLoCo pairings, ZO perturbations and codec
  // randomness (DESIGN.md semantic 6). Same on every peer.
  uint64_t seed = 0;
  // Timeout of each collective the strategy runs.
  std::chrono::milliseconds timeout = kDefaultCollectiveTimeout;
  // Tag of the strategy's collectives (tells them apart from the caller's).
  uint32_t tag = 0;
};

// The outer optimizer of the DiLoCo family, on fp32 outer parameters, with
// g the averaged pseudo-gradient (old outer - new local):
//   kSgd:       theta -= lr * g
//   kHeavyBall: b = momentum * b + g;  theta -= lr * b
//   kNesterov:  b = momentum * b + g;  theta -= lr * (g + momentum * b)
//   kAdam:      m = beta1 m + (1-beta1) g;  v = beta2 v + (1-beta2) g^2;
//               theta -= lr * (m / (1-beta1^t)) / (sqrt(v / (1-beta2^t)) + eps)
// (torch.optim.SGD / Adam semantics; t counts this state's updates from 1.)
enum class OuterRule : uint8_t { kSgd = 0, kHeavyBall = 1, kNesterov = 2, kAdam = 3 };

struct OuterOptimizerOptions {
  OuterRule rule = OuterRule::kNesterov;
  float lr = 0.7f;
  float momentum = 0.9f;  // kHeavyBall, kNesterov
  float beta1 = 0.9f;     // kAdam
  float beta2 = 0.999f;
  float eps = 1e-8f;
};

// Data-parallel SGD: gradients averaged after every backward pass.
struct DataParallelOptions {
  CommonStrategyOptions common;
  // "" (plain fp32), a Codec spec ("int8:block=256"), an ErrorFeedback spec
  // ("ef21(topk:density=0.01)"), or "powersgd[:rank=R]" (PowerSGD per 2-D
  // parameter, plain all-reduce for the rest).
  std::string codec;
};

// DiLoCo: H inner steps, then the averaged pseudo-gradient drives the outer
// optimizer on fp32 outer parameters; local parameters restart from them.
struct DiLoCoOptions {
  CommonStrategyOptions common;
  int sync_every = 500;  // H (the paper's)
  std::string codec;     // "" / Codec spec / ErrorFeedback spec
  OuterOptimizerOptions outer;  // Nesterov, lr 0.7, momentum 0.9
};

// How Streaming DiLoCo cuts layers into fragments: kStrided puts layers
// {p, p+F, p+2F, ...} in fragment p (the paper's better choice); kSequential
// puts contiguous runs of layers together.
enum class FragmentLayout : uint8_t { kStrided = 0, kSequential = 1 };

// Streaming DiLoCo: F fragments, one synced every H/F steps, its all-reduce
// overlapped with `sync_delay` inner steps, merged with `alpha`.
struct StreamingDiLoCoOptions {
  CommonStrategyOptions common;
  int sync_every = 100;  // H; fragments must divide it
  // F. 0 = automatic: layers / 3 (the paper's three layers per fragment),
  // at least 1, lowered until it divides H and sync_delay < H / F.
  int fragments = 0;
  FragmentLayout layout = FragmentLayout::kStrided;
  int sync_delay = 1;  // tau, 0 <= tau < H / F
  // local = alpha * local + (1 - alpha) * global after each fragment sync;
  // 0.5 is the paper's, torchft uses 0.
  float alpha = 0.5f;
  std::string codec = "fp4";
  OuterOptimizerOptions outer;
};

// One-step-delayed DiLoCo (PCCL's async_diloco): the all-reduce of outer
// step t runs in the background over the next H inner steps and is applied
// at step t + 1. The default outer optimizer is PCCL's actual one, plain SGD
// at lr 0.7: with a one-step-stale pseudo-gradient, Nesterov with momentum
// 0.9 diverged on `tern bench strategies` (docs/strategies.md).
struct AsyncDiLoCoOptions {
  CommonStrategyOptions common;
  int sync_every = 100;
  std::string codec;
  OuterOptimizerOptions outer{.rule = OuterRule::kSgd, .lr = 0.7f, .momentum = 0.0f};
};

// NoLoCo: no all-reduce; every H steps peers form random groups (pairs by
// default) from the shared seed and take the modified Nesterov step with a
// pull towards the group mean.
struct NoLoCoOptions {
  CommonStrategyOptions common;
  int sync_every = 50;   // H (the reference configs)
  float lr = 0.7f;       // eta (also the weight of the pull)
  float momentum = 0.5f; // beta
  int group_size = 2;    // 0 = the whole world as one group
};

// Local SGD: parameters averaged every H steps.
struct LocalSgdOptions {
  CommonStrategyOptions common;
  int sync_every = 100;
  std::string codec;  // applied to the change since the last average
};

// CO2: local updates, the parameter average computed in the background over
// the next H steps, and an outer momentum step with the staleness-gap
// penalty 1/lambda and (optional) clipping of the outer momentum.
struct Co2Options {
  CommonStrategyOptions common;
  int sync_every = 48;  // outer_frequency
  float outer_lr = 1.0f;
  float momentum = 0.5f;
  float gap_penalty = 1.0f;  // lambda
  bool clip = false;
  float clip_threshold = 1.0f;
  std::string codec;  // applied to the change since the outer parameters
};

// Random direction of the zeroth-order perturbation.
enum class ZoDistribution : uint8_t { kRademacher = 0, kNormal = 1 };
// What each worker sends per step: one byte (docs/strategies.md, "ZO byte")
// or its fp32 scalar.
enum class ZoWire : uint8_t { kByte = 0, kFloat32 = 1 };

// Zeroth-order SGD with shared randomness (two-point SPSA, "one byte per
// gradient"): every worker perturbs along its own direction z from (seed,
// step, stable peer id), sends the projected gradient, and every worker
// applies everyone's (the same bits everywhere).
struct ZerothOrderOptions {
  CommonStrategyOptions common;
  float lr = 1e-4f;
  float eps = 1e-3f;  // perturbation size
  ZoDistribution distribution = ZoDistribution::kRademacher;
  ZoWire wire = ZoWire::kByte;
  // The byte codes projected gradients divided by this (its range is
  // 2^-10.5 .. 2^10.5 times the scale).
  float byte_scale = 1.0f;
};

using StrategyConfig =
    std::variant<DataParallelOptions, DiLoCoOptions, StreamingDiLoCoOptions, AsyncDiLoCoOptions,
                 NoLoCoOptions, LocalSgdOptions, Co2Options, ZerothOrderOptions>;

// "ddp", "diloco", "streaming-diloco", "async-diloco", "noloco", "local-sgd",
// "co2", "zo".
TERN_EXPORT std::string_view StrategyName(const StrategyConfig& config);

// Parameters as key -> value text. Keys (those a strategy lacks are
// refused): seed, timeout_ms, tag, codec, h (sync_every), outer
// (sgd|heavy-ball|nesterov|adam), outer_lr, outer_momentum, beta1, beta2,
// adam_eps, fragments, layout (strided|sequential), tau, alpha, group_size,
// gap_penalty, clip (0|1), clip_threshold, lr (zo), eps, distribution
// (rademacher|normal), wire (byte|f32), byte_scale. NoLoCo's eta and beta
// and CO2's outer step are outer_lr and outer_momentum too.
using StrategyParams = std::map<std::string, std::string, std::less<>>;

// The defaults of `name` with `params` applied, validated.
// Errors: kInvalidArgument (unknown name or key, malformed or out-of-range
// value: H < 1, fragments that do not divide H, tau >= H / F, alpha outside
// [0, 1], lr <= 0, ...). Does not block.
TERN_EXPORT Result<StrategyConfig> ParseStrategyConfig(std::string_view name,
                                                       const StrategyParams& params = {});

// Checks ranges (as ParseStrategyConfig does). Codec specs are checked when
// the strategy is created. Errors: kInvalidArgument.
TERN_EXPORT Status ValidateStrategyConfig(const StrategyConfig& config);

// "diloco:h=100,codec=int8:block=256,outer=nesterov,..." with every field,
// in a fixed order (floats in shortest round-trip form).
TERN_EXPORT std::string CanonicalConfig(const StrategyConfig& config);

}  // namespace tern

#endif  // TERN_ALGO_OPTIONS_H_
