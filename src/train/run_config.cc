#include "train/run_config.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "algo/fragments.h"
#include "tern/strategy.h"
#include "train/model_spec.h"
#include "train/partition.h"

namespace tern::train {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(
    RunConfig, model, mlp_hidden, data_dir, max_train, non_iid, workers, steps, batch, lr,
    weight_decay, warmup, cosine, seed, threads, strategy, codec, inner_steps, strategy_params,
    timeout_ms, eval_every, eval_samples, final_eval_samples, link_rate_mbit, link_delay_ms, chaos,
    chaos_at, chaos_wait_for_join)

namespace {

// The option keys of `strategy`: its default canonical config spells out
// every key it has ("diloco:h=500,codec=,outer=nesterov,..."), and the
// defaults hold no codec parameters that could be mistaken for keys.
std::vector<std::string> KeysOf(const std::string& strategy) {
  Result<StrategyConfig> def = ParseStrategyConfig(strategy);
  if (!def.ok()) return {};
  const std::string text = CanonicalConfig(*def);
  std::vector<std::string> out;
  std::stringstream ss(text.substr(text.find(':') + 1));
  for (std::string item; std::getline(ss, item, ',');) out.push_back(item.substr(0, item.find('=')));
  return out;
}

bool HasKey(const std::string& strategy, const std::string& key) {
  const std::vector<std::string> keys = KeysOf(strategy);
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

Status Range(bool ok, const char* flag, const char* what) {
  return ok ? OkStatus() : InvalidArgumentError(std::string(flag) + " must be " + what);
}

// Streaming DiLoCo's fragments against the model's layers, which the
// strategy would otherwise only find when it attaches, in every worker
// after loading the data.
Status CheckFragments(const RunConfig& c, const StrategyParams& params) {
  if (c.strategy != "streaming-diloco") return OkStatus();
  TERN_ASSIGN_OR_RETURN(StrategyConfig sc, ParseStrategyConfig(c.strategy, params));
  const auto& o = std::get<StreamingDiLoCoOptions>(sc);
  TERN_ASSIGN_OR_RETURN(std::vector<std::string> layers, ModelLayers(c));
  if (o.fragments > static_cast<int>(layers.size())) {
    std::string names;
    for (const std::string& l : layers) names += (names.empty() ? "" : ", ") + l;
    return InvalidArgumentError("--strategy-param fragments=" + std::to_string(o.fragments) +
                                ": the " + c.model + " has only " +
                                std::to_string(layers.size()) + " layers (" + names + ")");
  }
  if (o.fragments == 0) {
    return algo::AutoFragments(layers.size(), o.sync_every, o.sync_delay).status();
  }
  return OkStatus();
}

}  // namespace

Status ValidateRunConfig(const RunConfig& c) {
  if (c.model != "cnn" && c.model != "mlp") {
    return InvalidArgumentError("--model must be cnn or mlp, not '" + c.model + "'");
  }
  TERN_RETURN_IF_ERROR(Range(c.mlp_hidden >= 1 && c.mlp_hidden <= 65536, "--mlp-hidden", "1..65536"));
  TERN_RETURN_IF_ERROR(Range(c.non_iid == 0 || (c.non_iid >= kMinDirichletAlpha &&
                                                c.non_iid <= kMaxDirichletAlpha),
                             "--non-iid", "0 (IID) or a Dirichlet alpha in [0.001, 10000]"));
  TERN_RETURN_IF_ERROR(Range(c.workers >= 1 && c.workers <= 64, "--workers", "in 1..64"));
  TERN_RETURN_IF_ERROR(Range(c.steps >= 1 && c.steps <= 10'000'000, "--steps", ">= 1"));
  TERN_RETURN_IF_ERROR(Range(c.batch >= 1 && c.batch <= 65536, "--batch", "in 1..65536"));
  TERN_RETURN_IF_ERROR(Range(std::isfinite(c.lr) && c.lr > 0, "--lr", "> 0"));
  TERN_RETURN_IF_ERROR(
      Range(std::isfinite(c.weight_decay) && c.weight_decay >= 0, "--weight-decay", ">= 0"));
  TERN_RETURN_IF_ERROR(Range(c.warmup >= 0 && c.warmup < c.steps, "--warmup", "in [0, steps)"));
  TERN_RETURN_IF_ERROR(Range(c.threads >= 1 && c.threads <= 256, "--threads", "in 1..256"));
  TERN_RETURN_IF_ERROR(Range(c.inner_steps >= 0, "--inner-steps", ">= 1"));
  TERN_RETURN_IF_ERROR(
      Range(c.timeout_ms >= 100 && c.timeout_ms <= 3'600'000, "--timeout-ms", "in 100..3600000"));
  TERN_RETURN_IF_ERROR(Range(c.eval_every >= 0, "--eval-every", ">= 0"));
  TERN_RETURN_IF_ERROR(Range(c.eval_samples != 0, "--eval-samples", "nonzero (negative: all)"));
  TERN_RETURN_IF_ERROR(
      Range(c.final_eval_samples != 0, "--final-eval-samples", "nonzero (negative: all)"));
  TERN_RETURN_IF_ERROR(Range(std::isfinite(c.link_rate_mbit) && c.link_rate_mbit >= 0,
                             "--link-rate-mbit", ">= 0"));
  TERN_RETURN_IF_ERROR(Range(std::isfinite(c.link_delay_ms) && c.link_delay_ms >= 0 &&
                                 c.link_delay_ms <= 10000,
                             "--link-delay-ms", "in [0, 10000]"));
  TERN_RETURN_IF_ERROR(Range(!c.chaos || c.workers >= 2, "--chaos", "used with >= 2 workers"));
  TERN_RETURN_IF_ERROR(Range(c.chaos_at > 0 && c.chaos_at < 1, "--chaos-at", "in (0, 1)"));
  TERN_RETURN_IF_ERROR(
      Range(c.warmup == 0 || c.cosine, "--warmup", "used with --cosine (the constant rate has none)"));
  TERN_RETURN_IF_ERROR(CheckStrategyParamKeys({c.strategy}, c.strategy_params));
  TERN_ASSIGN_OR_RETURN(StrategyParams params, StrategyParamsFor(c));
  if (auto h = params.find("h");
      h != params.end() && c.steps < std::strtoll(h->second.c_str(), nullptr, 10)) {
    return InvalidArgumentError("--steps " + std::to_string(c.steps) + " is fewer than " +
                                c.strategy + "'s " + h->second +
                                " inner steps between synchronizations: it would never "
                                "synchronize (lower --inner-steps or raise --steps)");
  }
  TERN_RETURN_IF_ERROR(CheckFragments(c, params));
  // Creating the strategy parses its codec spec: a typo fails here, once,
  // rather than in every worker.
  return Strategy::Create(c.strategy, params).status();
}

Status CheckStrategyParamKeys(const std::vector<std::string>& strategies,
                              const std::map<std::string, std::string>& params) {
  for (const auto& [key, value] : params) {
    bool known = false;
    std::string listing;
    for (const std::string& s : strategies) {
      known = known || HasKey(s, key);
      std::string keys;
      for (const std::string& k : KeysOf(s)) keys += (keys.empty() ? "" : ", ") + k;
      listing += (listing.empty() ? "" : "; ") + s + ": " + keys;
    }
    if (!known) {
      return InvalidArgumentError("--strategy-param: unknown key '" + key + "' (" + listing + ")");
    }
  }
  return OkStatus();
}

std::map<std::string, std::string> ParamsFor(const std::string& strategy,
                                             const std::map<std::string, std::string>& params) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : params) {
    if (HasKey(strategy, k)) out[k] = v;
  }
  return out;
}

Result<std::vector<std::string>> ModelLayers(const RunConfig& c) {
  TERN_ASSIGN_OR_RETURN(ModelKind kind, ParseModelKind(c.model));
  ModelOptions mo;
  mo.kind = kind;
  mo.mlp_hidden = c.mlp_hidden;
  TERN_RETURN_IF_ERROR(ValidateModelOptions(mo));
  std::vector<std::string> out;
  for (const ParamSpec& p : ModelArchitecture(mo)) {
    std::string key = algo::LayerKey(p.name);
    if (out.empty() || out.back() != key) out.push_back(std::move(key));
  }
  return out;
}

Result<StrategyParams> StrategyParamsFor(const RunConfig& c) {
  TERN_RETURN_IF_ERROR(ParseStrategyConfig(c.strategy).status());
  StrategyParams p;
  if (HasKey(c.strategy, "h")) {
    const int def = c.strategy == "streaming-diloco" ? kDefaultStreamingInnerSteps
                                                     : kDefaultInnerSteps;
    p["h"] = std::to_string(c.inner_steps > 0 ? c.inner_steps : def);
  }
  if (HasKey(c.strategy, "codec")) {
    if (!c.codec.empty()) {
      p["codec"] = c.codec == "fp32" ? "" : c.codec;
    } else if (c.strategy == "diloco" || c.strategy == "async-diloco") {
      p["codec"] = "int8";
    }
  }
  p["seed"] = std::to_string(c.seed);
  p["timeout_ms"] = std::to_string(c.timeout_ms);
  for (const auto& [k, v] : c.strategy_params) p[k] = v;  // a key it lacks is refused below
  TERN_RETURN_IF_ERROR(ParseStrategyConfig(c.strategy, p).status());
  return p;
}

RunConfig ResolvedRunConfig(const RunConfig& c) {
  RunConfig out = c;
  Result<StrategyParams> p = StrategyParamsFor(c);
  if (!p.ok()) return out;
  if (auto h = p->find("h"); h != p->end()) {
    out.inner_steps = static_cast<int>(std::strtol(h->second.c_str(), nullptr, 10));
  }
  if (auto codec = p->find("codec"); codec != p->end()) {
    out.codec = codec->second.empty() ? "fp32" : codec->second;
  }
  return out;
}

std::string DescribeStrategy(const RunConfig& c) {
  Result<StrategyParams> p = StrategyParamsFor(c);
  std::string out = c.strategy;
  if (!p.ok()) return out;
  auto h = p->find("h");
  if (h != p->end()) out += " h=" + h->second;
  auto codec = p->find("codec");
  if (codec != p->end()) out += " codec=" + (codec->second.empty() ? "fp32" : codec->second);
  else if (HasKey(c.strategy, "codec")) {
    out += " codec=" + std::string(c.strategy == "streaming-diloco" ? "fp4" : "fp32");
  }
  for (const auto& [k, v] : *p) {
    if (k != "h" && k != "codec" && k != "seed" && k != "timeout_ms") out += " " + k + "=" + v;
  }
  return out;
}

std::string RunConfigToJson(const RunConfig& c) { return nlohmann::json(c).dump(); }

Result<RunConfig> RunConfigFromJson(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgumentError("run config is not a JSON object");
  }
  const nlohmann::json known = nlohmann::json(RunConfig{});
  for (const auto& [key, value] : j.items()) {
    if (!known.contains(key)) return InvalidArgumentError("unknown run config key '" + key + "'");
    if (known[key].type() != value.type() && !(known[key].is_number() && value.is_number())) {
      return InvalidArgumentError("run config key '" + key + "' has the wrong type");
    }
  }
  try {  // nlohmann's conversions throw; keep that inside this function
    return j.get<RunConfig>();
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError(std::string("run config: ") + e.what());
  }
}

std::string RunConfigForAgreement(const RunConfig& c) {
  nlohmann::json j(c);
  j.erase("data_dir");
  j.erase("threads");
  return j.dump();
}

std::string DescribeConfigDifference(const std::string& mine, const std::string& run) {
  const nlohmann::json a = nlohmann::json::parse(mine, nullptr, false);
  const nlohmann::json b = nlohmann::json::parse(run, nullptr, false);
  if (!a.is_object() || !b.is_object()) return "the config text";
  std::string out;
  auto value = [](const nlohmann::json& j, const std::string& key) {
    return j.contains(key) ? j[key].dump() : std::string("(none)");
  };
  std::set<std::string> keys;
  for (const auto& [k, v] : a.items()) keys.insert(k);
  for (const auto& [k, v] : b.items()) keys.insert(k);
  for (const std::string& k : keys) {
    if (a.contains(k) && b.contains(k) && a[k] == b[k]) continue;
    out += (out.empty() ? "" : ", ") + k + " (this worker: " + value(a, k) +
           ", the run: " + value(b, k) + ")";
  }
  return out.empty() ? "the config text" : out;
}

Result<std::vector<std::string>> ParseStrategyList(const std::string& text) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  std::stringstream ss(text);
  std::string name;
  while (std::getline(ss, name, ',')) {
    if (name.empty()) return InvalidArgumentError("--compare: empty strategy name in '" + text + "'");
    TERN_RETURN_IF_ERROR(ParseStrategyConfig(name).status());
    if (!seen.insert(name).second) {
      return InvalidArgumentError("--compare: '" + name + "' is listed twice");
    }
    out.push_back(name);
  }
  if (out.empty()) return InvalidArgumentError("--compare needs at least one strategy");
  return out;
}

}  // namespace tern::train
