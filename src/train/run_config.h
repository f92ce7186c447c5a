// What one `tern train` run does: model, data split, budget, strategy,
// codec, evaluation, emulated link and chaos. One struct travels from the
// command line to every worker process (as JSON) so all workers of a run
// agree on it.
//
// The run's defaults are chosen for a 2-core machine (a few minutes for
// the default 4-worker CNN run; measured in docs/train.md). Strategy
// parameters come from the strategy's own defaults (tern/algo_options.h)
// with three run-level changes, because the paper values assume runs 100x
// longer than ours: H defaults to kDefaultInnerSteps for every strategy that
// has one (the papers' 500 would give two outer steps here), "diloco" and
// "async-diloco" default to int8 pseudo-gradients, and "streaming-diloco"
// to H = 100 (fp4, its own default codec).
//
//   RunConfig c;                       // the defaults: 4 workers, CNN, DiLoCo
//   c.strategy = "streaming-diloco";
//   TERN_RETURN_IF_ERROR(ValidateRunConfig(c));
//   TERN_ASSIGN_OR_RETURN(StrategyParams p, StrategyParamsFor(c));
//   std::string json = RunConfigToJson(c);
//
// Thread-safety: plain values; the functions are pure.
#ifndef TERN_TRAIN_RUN_CONFIG_H_
#define TERN_TRAIN_RUN_CONFIG_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tern/algo_options.h"
#include "tern/status.h"
#include "train/dataset.h"

namespace tern::train {

inline constexpr int kDefaultInnerSteps = 50;
inline constexpr int kDefaultStreamingInnerSteps = 100;

struct RunConfig {
  // --- Model and data ---
  std::string model = "cnn";  // "cnn" | "mlp"
  int mlp_hidden = 256;
  std::string data_dir = kFashionMnistDir;
  int64_t max_train = -1;  // first N training images only (tests)
  double non_iid = 0;      // 0: IID split; > 0: Dirichlet(alpha) label skew

  // --- Budget (equal for every strategy of a comparison) ---
  int workers = 4;
  int64_t steps = 1000;  // inner steps per worker
  int batch = 64;        // per worker and step
  float lr = 1e-3f;      // AdamW, all strategies
  float weight_decay = 1e-2f;
  int warmup = 0;        // cosine schedule warmup steps
  bool cosine = false;   // cosine decay to lr/10 at `steps` (else constant)
  uint64_t seed = 1;
  int threads = 1;       // torch threads per worker

  // --- Strategy ---
  std::string strategy = "diloco";
  std::string codec;         // "" = the run's default for the strategy
  int inner_steps = 0;       // H; 0 = the run's default
  // More strategy keys (tern/algo_options.h, StrategyParams); every key
  // must be one the strategy has (a comparison gives each strategy the keys
  // it has: CheckStrategyParamKeys over the list, then ParamsFor).
  std::map<std::string, std::string> strategy_params;
  int timeout_ms = 60000;    // per collective

  // --- Evaluation (on rank 0, on the global parameters) ---
  int64_t eval_every = 100;     // inner steps; 0 = final evaluation only
  int64_t eval_samples = 2000;  // first N test images during the run
  int64_t final_eval_samples = -1;  // all 10k at the end

  // --- Emulated link between every pair of workers (0 = none) ---
  double link_rate_mbit = 0;
  double link_delay_ms = 0;

  // --- Chaos: SIGKILL one worker when the run reaches this fraction of
  // its steps, start a replacement (local runs only).
  bool chaos = false;
  double chaos_at = 0.4;
  // Test-only (no flag): survivors of the kill wait, up to the join
  // timeout, until the replacement is pending and admit it before they go
  // on, so a test's short run cannot end before the replacement joined.
  bool chaos_wait_for_join = false;
};

// kInvalidArgument naming the flag for anything out of range (workers 1 ..
// 64, steps >= 1, batch 1 .. 65536, lr > 0, warmup only with cosine, ...),
// an unknown model or strategy, a strategy_params key the strategy lacks, a
// strategy option or codec spec the strategy refuses, fewer steps than the
// strategy's H (it would never synchronize), more Streaming DiLoCo
// fragments than the model has layers, or chaos with fewer than 2 workers.
Status ValidateRunConfig(const RunConfig& c);

// kInvalidArgument naming the first key of `params` that none of
// `strategies` has, and listing each strategy's keys.
Status CheckStrategyParamKeys(const std::vector<std::string>& strategies,
                              const std::map<std::string, std::string>& params);

// The keys of `params` that `strategy` has (for one run of a comparison).
std::map<std::string, std::string> ParamsFor(const std::string& strategy,
                                             const std::map<std::string, std::string>& params);

// The layers of the run's model as Streaming DiLoCo groups its parameters
// (algo/fragments.h, LayerKey): "conv1", "conv2", "fc" for the CNN, "fc1",
// "fc2" for the MLP. kInvalidArgument for an unknown model.
Result<std::vector<std::string>> ModelLayers(const RunConfig& c);

// The strategy's parameters for this run: the run defaults above, then
// inner_steps, codec and strategy_params, validated by ParseStrategyConfig.
// kInvalidArgument on a bad value or a key the strategy lacks.
Result<StrategyParams> StrategyParamsFor(const RunConfig& c);

// `c` with the run defaults it leaves open filled in: inner_steps (H) and
// codec ("fp32" for none) when the strategy has them and
// StrategyParamsFor(c) succeeds; otherwise `c` unchanged.
RunConfig ResolvedRunConfig(const RunConfig& c);

// One line a person reads: "diloco h=50 codec=int8".
std::string DescribeStrategy(const RunConfig& c);

// JSON text of every field, and back (unknown keys refused, missing ones
// keep their defaults). kInvalidArgument on malformed JSON or types.
std::string RunConfigToJson(const RunConfig& c);
Result<RunConfig> RunConfigFromJson(const std::string& text);

// What every worker of a multi-host run must agree on: RunConfigToJson
// without the per-host fields (data_dir, threads). SafePoint replicates it.
std::string RunConfigForAgreement(const RunConfig& c);
// "steps (this worker: 100, the run: 200), lr (...)" for two JSON objects
// (RunConfigForAgreement texts); "the config text" if either does not parse.
std::string DescribeConfigDifference(const std::string& mine, const std::string& run);

// "ddp,diloco,streaming-diloco" -> names, checked (known, not repeated).
Result<std::vector<std::string>> ParseStrategyList(const std::string& text);

}  // namespace tern::train

#endif  // TERN_TRAIN_RUN_CONFIG_H_
