// Parsing, validation and canonical printing of strategy options. Each
// options struct lists its fields once (VisitFields); parsing, printing and
// the key set all derive from that list.
#include <charconv>
#include <cmath>
#include <string>
#include <type_traits>
#include <utility>

#include "tern/algo_options.h"

namespace tern {
namespace {

template <class E>
struct EnumName {
  E value;
  std::string_view name;
};
constexpr EnumName<OuterRule> kOuterRules[] = {{OuterRule::kSgd, "sgd"},
                                               {OuterRule::kHeavyBall, "heavy-ball"},
                                               {OuterRule::kNesterov, "nesterov"},
                                               {OuterRule::kAdam, "adam"}};
constexpr EnumName<FragmentLayout> kLayouts[] = {{FragmentLayout::kStrided, "strided"},
                                                 {FragmentLayout::kSequential, "sequential"}};
constexpr EnumName<ZoDistribution> kDistributions[] = {
    {ZoDistribution::kRademacher, "rademacher"}, {ZoDistribution::kNormal, "normal"}};
constexpr EnumName<ZoWire> kWires[] = {{ZoWire::kByte, "byte"}, {ZoWire::kFloat32, "f32"}};

template <class E, size_t N>
std::string_view NameOf(E v, const EnumName<E> (&table)[N]) {
  for (const auto& e : table) {
    if (e.value == v) return e.name;
  }
  return "?";
}
template <class E, size_t N>
bool ParseEnum(std::string_view s, E* out, const EnumName<E> (&table)[N]) {
  for (const auto& e : table) {
    if (e.name == s) {
      *out = e.value;
      return true;
    }
  }
  return false;
}

// Text <-> field conversions, one overload per field type.
bool FromText(std::string_view s, std::string* v) {
  *v = std::string(s);
  return true;
}
template <class T>
  requires std::is_arithmetic_v<T> && (!std::is_same_v<T, bool>)
bool FromText(std::string_view s, T* v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  if constexpr (std::is_floating_point_v<T>) {
    if (ec == std::errc() && !std::isfinite(*v)) return false;
  }
  return ec == std::errc() && p == s.data() + s.size();
}
bool FromText(std::string_view s, bool* v) {
  if (s == "1" || s == "true") return *v = true, true;
  if (s == "0" || s == "false") return *v = false, true;
  return false;
}
bool FromText(std::string_view s, std::chrono::milliseconds* v) {
  int64_t ms = 0;
  if (!FromText(s, &ms) || ms <= 0) return false;
  *v = std::chrono::milliseconds(ms);
  return true;
}
bool FromText(std::string_view s, OuterRule* v) { return ParseEnum(s, v, kOuterRules); }
bool FromText(std::string_view s, FragmentLayout* v) { return ParseEnum(s, v, kLayouts); }
bool FromText(std::string_view s, ZoDistribution* v) { return ParseEnum(s, v, kDistributions); }
bool FromText(std::string_view s, ZoWire* v) { return ParseEnum(s, v, kWires); }

std::string ToText(const std::string& v) { return v; }
template <class T>
  requires std::is_arithmetic_v<T> && (!std::is_same_v<T, bool>)
std::string ToText(T v) {
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, p);
}
std::string ToText(bool v) { return v ? "1" : "0"; }
std::string ToText(std::chrono::milliseconds v) { return ToText(static_cast<int64_t>(v.count())); }
std::string ToText(OuterRule v) { return std::string(NameOf(v, kOuterRules)); }
std::string ToText(FragmentLayout v) { return std::string(NameOf(v, kLayouts)); }
std::string ToText(ZoDistribution v) { return std::string(NameOf(v, kDistributions)); }
std::string ToText(ZoWire v) { return std::string(NameOf(v, kWires)); }

template <class V>
void VisitCommon(CommonStrategyOptions& c, V& v) {
  v("seed", c.seed);
  v("timeout_ms", c.timeout);
  v("tag", c.tag);
}
template <class V>
void VisitOuter(OuterOptimizerOptions& o, V& v) {
  v("outer", o.rule);
  v("outer_lr", o.lr);
  v("outer_momentum", o.momentum);
  v("beta1", o.beta1);
  v("beta2", o.beta2);
  v("adam_eps", o.eps);
}

template <class V>
void VisitFields(DataParallelOptions& o, V& v) {
  v("codec", o.codec);
  VisitCommon(o.common, v);
}
template <class V>
void VisitFields(DiLoCoOptions& o, V& v) {
  v("h", o.sync_every);
  v("codec", o.codec);
  VisitOuter(o.outer, v);
  VisitCommon(o.common, v);
}
template <class V>
void VisitFields(StreamingDiLoCoOptions& o, V& v) {
  v("h", o.sync_every);
  v("fragments", o.fragments);
  v("layout", o.layout);
  v("tau", o.sync_delay);
  v("alpha", o.alpha);
  v("codec", o.codec);
  VisitOuter(o.outer, v);
  VisitCommon(o.common, v);
}
template <class V>
void VisitFields(AsyncDiLoCoOptions& o, V& v) {
  v("h", o.sync_every);
  v("codec", o.codec);
  VisitOuter(o.outer, v);
  VisitCommon(o.common, v);
}
template <class V>
void VisitFields(NoLoCoOptions& o, V& v) {
  v("h", o.sync_every);
  v("outer_lr", o.lr);  // NoLoCo's eta and beta are its outer lr and momentum
  v("outer_momentum", o.momentum);
  v("group_size", o.group_size);
  VisitCommon(o.common, v);
}
template <class V>
void VisitFields(LocalSgdOptions& o, V& v) {
  v("h", o.sync_every);
  v("codec", o.codec);
  VisitCommon(o.common, v);
}
template <class V>
void VisitFields(Co2Options& o, V& v) {
  v("h", o.sync_every);
  v("outer_lr", o.outer_lr);
  v("outer_momentum", o.momentum);
  v("gap_penalty", o.gap_penalty);
  v("clip", o.clip);
  v("clip_threshold", o.clip_threshold);
  v("codec", o.codec);
  VisitCommon(o.common, v);
}
template <class V>
void VisitFields(ZerothOrderOptions& o, V& v) {
  v("lr", o.lr);
  v("eps", o.eps);
  v("distribution", o.distribution);
  v("wire", o.wire);
  v("byte_scale", o.byte_scale);
  VisitCommon(o.common, v);
}

constexpr std::string_view kNames[] = {"ddp",       "diloco", "streaming-diloco", "async-diloco",
                                       "noloco",    "local-sgd", "co2",          "zo"};
static_assert(std::size(kNames) == std::variant_size_v<StrategyConfig>);

// The default config of the variant alternative `index`.
template <size_t I = 0>
StrategyConfig DefaultAt(size_t index) {
  if constexpr (I + 1 < std::variant_size_v<StrategyConfig>) {
    if (index != I) return DefaultAt<I + 1>(index);
  }
  return StrategyConfig(std::in_place_index<I>);
}

bool Positive(float x) { return std::isfinite(x) && x > 0; }
bool Fraction(float x) { return std::isfinite(x) && x >= 0 && x < 1; }

Status CheckOuter(const OuterOptimizerOptions& o) {
  if (!Positive(o.lr)) return InvalidArgumentError("outer_lr must be > 0");
  if (!Fraction(o.momentum)) return InvalidArgumentError("outer_momentum must be in [0, 1)");
  if (!Fraction(o.beta1) || !Fraction(o.beta2)) {
    return InvalidArgumentError("beta1 and beta2 must be in [0, 1)");
  }
  if (!Positive(o.eps)) return InvalidArgumentError("adam_eps must be > 0");
  return OkStatus();
}
Status CheckH(int h) {
  return h >= 1 ? OkStatus() : InvalidArgumentError("h (sync_every) must be >= 1");
}

Status Check(const DataParallelOptions&) { return OkStatus(); }
Status Check(const DiLoCoOptions& o) {
  TERN_RETURN_IF_ERROR(CheckH(o.sync_every));
  return CheckOuter(o.outer);
}
Status Check(const StreamingDiLoCoOptions& o) {
  TERN_RETURN_IF_ERROR(CheckH(o.sync_every));
  if (o.fragments < 0) return InvalidArgumentError("fragments must be >= 0 (0: automatic)");
  if (o.sync_delay < 0) return InvalidArgumentError("tau must be >= 0");
  if (o.fragments == 0 && o.sync_delay >= o.sync_every) {
    // Automatic fragments: even F = 1 needs tau < h (checked here, not when
    // the strategy attaches to a model).
    return InvalidArgumentError("tau must be < h (and < h / fragments)");
  }
  if (o.fragments > 0) {
    if (o.sync_every % o.fragments != 0) {
      return InvalidArgumentError("fragments must divide h (torchft's check)");
    }
    if (o.sync_delay >= o.sync_every / o.fragments) {
      return InvalidArgumentError("tau must be < h / fragments");
    }
  }
  if (!(o.alpha >= 0 && o.alpha <= 1)) return InvalidArgumentError("alpha must be in [0, 1]");
  return CheckOuter(o.outer);
}
Status Check(const AsyncDiLoCoOptions& o) {
  TERN_RETURN_IF_ERROR(CheckH(o.sync_every));
  return CheckOuter(o.outer);
}
Status Check(const NoLoCoOptions& o) {
  TERN_RETURN_IF_ERROR(CheckH(o.sync_every));
  if (!Positive(o.lr)) return InvalidArgumentError("outer_lr must be > 0");
  if (!Fraction(o.momentum)) return InvalidArgumentError("outer_momentum must be in [0, 1)");
  if (o.group_size < 0 || o.group_size == 1) {
    return InvalidArgumentError("group_size must be 0 (whole world) or >= 2");
  }
  return OkStatus();
}
Status Check(const LocalSgdOptions& o) { return CheckH(o.sync_every); }
Status Check(const Co2Options& o) {
  TERN_RETURN_IF_ERROR(CheckH(o.sync_every));
  if (!Positive(o.outer_lr)) return InvalidArgumentError("outer_lr must be > 0");
  if (!Fraction(o.momentum)) return InvalidArgumentError("outer_momentum must be in [0, 1)");
  if (!Positive(o.gap_penalty)) return InvalidArgumentError("gap_penalty must be > 0");
  if (!Positive(o.clip_threshold)) return InvalidArgumentError("clip_threshold must be > 0");
  return OkStatus();
}
Status Check(const ZerothOrderOptions& o) {
  if (!Positive(o.lr) || !Positive(o.eps) || !Positive(o.byte_scale)) {
    return InvalidArgumentError("lr, eps and byte_scale must be > 0");
  }
  return OkStatus();
}

// "h, codec, outer, ...": the keys `config`'s strategy takes, in order.
std::string OptionKeys(StrategyConfig config) {
  std::string out;
  auto lister = [&](std::string_view key, const auto&) {
    out += (out.empty() ? "" : ", ") + std::string(key);
  };
  std::visit([&](auto& o) { VisitFields(o, lister); }, config);
  return out;
}

}  // namespace

std::string_view StrategyName(const StrategyConfig& config) { return kNames[config.index()]; }

Status ValidateStrategyConfig(const StrategyConfig& config) {
  return std::visit(
      [](const auto& o) {
        if (o.common.timeout.count() <= 0) return InvalidArgumentError("timeout must be > 0");
        return Check(o);
      },
      config);
}

Result<StrategyConfig> ParseStrategyConfig(std::string_view name, const StrategyParams& params) {
  size_t index = std::size(kNames);
  for (size_t i = 0; i < std::size(kNames); ++i) {
    if (kNames[i] == name) index = i;
  }
  if (index == std::size(kNames)) {
    return InvalidArgumentError("unknown strategy '" + std::string(name) +
                                "' (ddp, diloco, streaming-diloco, async-diloco, noloco, "
                                "local-sgd, co2, zo)");
  }
  StrategyConfig config = DefaultAt(index);
  for (const auto& entry : params) {
    // Named references, not a structured binding: clang-14 (the fuzz build)
    // cannot capture bindings in the lambda below.
    const std::string& key = entry.first;
    const std::string& text = entry.second;
    Status status = InvalidArgumentError(std::string(name) + " has no option '" + key +
                                         "' (its options: " + OptionKeys(config) + ")");
    auto setter = [&](std::string_view k, auto& field) {
      if (k != key) return;
      status = FromText(text, &field) ? OkStatus()
                                      : InvalidArgumentError("bad value '" + text +
                                                             "' for option '" + key + "'");
    };
    std::visit([&](auto& o) { VisitFields(o, setter); }, config);
    TERN_RETURN_IF_ERROR(status);
  }
  TERN_RETURN_IF_ERROR(ValidateStrategyConfig(config));
  return config;
}

std::string CanonicalConfig(const StrategyConfig& config) {
  std::string out(StrategyName(config));
  char sep = ':';
  auto printer = [&](std::string_view key, const auto& field) {
    out += sep;
    out += key;
    out += '=';
    out += ToText(field);
    sep = ',';
  };
  StrategyConfig copy = config;  // VisitFields takes mutable references
  std::visit([&](auto& o) { VisitFields(o, printer); }, copy);
  return out;
}

}  // namespace tern
