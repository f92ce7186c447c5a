// The table of every stage (names, parameters, defaults, docs) and the
// pipeline builder behind Codec::Create.
#include <algorithm>
#include <cmath>

#include "codec/spec.h"
#include "codec/stages.h"
#include "tern/codec.h"

namespace tern {
namespace codec {
namespace {

struct StageDef {
  CodecInfo info;
  StageFactory make;  // value stages only
  bool sparse;        // takes an index stage
};

const std::vector<StageDef>& Table() {
  static const auto* table = new std::vector<StageDef>{
      {{"fp32", "value", "identity: raw little-endian fp32 (lossless)", {}}, MakeCast, false},
      {{"fp16", "value", "cast to IEEE half, round-to-nearest-even", {}}, MakeCast, false},
      {{"bf16", "value", "cast to bfloat16, round-to-nearest-even", {}}, MakeCast, false},
      {{"int8", "value", "blockwise int8 in [-127,127], fp32 absmax/127 scale per block",
        {{"block", "256", "values per scale"},
         {"rounding", "nearest", "nearest (half to even) | stochastic (unbiased)"}}},
       MakeInt8, false},
      {{"int4", "value", "blockwise int4 in [-7,7], packed 2 per byte, fp32 scale per block",
        {{"block", "64", "values per scale"},
         {"rounding", "nearest", "nearest (half to even) | stochastic (unbiased)"}}},
       MakeInt4, false},
      {{"lut8", "value",
        "INTELLECT-1 8-bit lookup table: bins of 6*rms/256 around 0, decoded to per-bin means",
        {}},
       MakeLut8, false},
      {{"fp4", "value", "4-bit floats with a power-of-two (E8M0) scale per block (MXFP4 layout)",
        {{"format", "e2m1", "e2m1 (+-{0,.5,1,1.5,2,3,4,6}) | e3m0 (+-{0,2^-6..2^0})"},
         {"block", "32", "values per scale"},
         {"rounding", "nearest", "nearest (half to even) | stochastic (unbiased)"}}},
       MakeFp4, false},
      {{"qsgd", "value", "QSGD: stochastic levels of |x|/||x||, sign+level bit-packed, unbiased",
        {{"levels", "15", "s, the number of levels above zero"},
         {"block", "256", "values per L2 norm"}}},
       MakeQsgd, false},
      {{"terngrad", "value", "TernGrad: ternary {-s,0,s} with s = max|clip(x)|, base-3 packed, unbiased",
        {{"clip", "2.5", "clip at clip*std (0: no clipping)"}}},
       MakeTernGrad, false},
      {{"sign", "value", "scaled sign: 1 bit per value + one fp32 scale per block",
        {{"scale", "l1", "l1 (mean |x|, EF-signSGD) | l2 (||x||/sqrt(n), 1-bit Adam)"},
         {"block", "0", "values per scale (0: one scale per payload)"}}},
       MakeSign, false},
      {{"topk", "value", "keep the density fraction of largest |x| with their positions",
        {{"density", "0.01", "fraction of values kept"},
         {"select", "exact", "exact (ties to lower index) | sampled (DGC threshold, about k)"}}},
       MakeTopK, true},
      {{"randk", "value",
        "keep a shared-seed random subset, scaled by n/k (unbiased; positions never sent)",
        {{"density", "0.01", "fraction of values kept"}}},
       MakeRandK, false},
      {{"compeft", "value", "ComPEFT: top density fraction, sent as sign; decodes to alpha*std*sign",
        {{"density", "0.05", "fraction of values kept (keeps floor(n*density)+1)"},
         {"alpha", "1", "scale factor on the standard deviation"}}},
       MakeComPeft, true},
      {{"fedzip", "value",
        "FedZip: top density fraction, k-means values, Huffman-coded cluster ids",
        {{"density", "0.2", "fraction of values kept"},
         {"clusters", "3", "k-means centroids (2..16)"},
         {"iters", "4", "Lloyd iterations"}}},
       MakeFedZip, true},
      {{"rice", "index", "Rice code of position gaps (after a sparse stage)",
        {{"k", "auto", "Rice parameter 0..30, or auto (smallest stream per payload)"}}},
       nullptr, false},
      {{"gamma", "index", "Elias-gamma code of position gaps + 1", {}}, nullptr, false},
      {{"raw", "index", "positions as 32-bit little-endian integers", {}}, nullptr, false},
      {{"zstd", "bytes", "zstd over the whole payload (last stage)",
        {{"level", "3", "zstd compression level 1..19"}}},
       nullptr, false},
      {{"ef", "feedback", "classic error feedback: e' = x + e - D(C(x + e))", {}}, nullptr, false},
      {{"ef21", "feedback", "EF21: workers send C(x - g_i); g_i += D(c); g += mean", {}},
       nullptr, false},
      {{"econtrol", "feedback", "EControl: C(eta*e + x - h_i), error and estimator both kept",
        {{"eta", "auto", "feedback strength on the error e; auto = inner density / 2"}}},
       nullptr, false},
  };
  return *table;
}

const StageDef* FindDef(std::string_view name) {
  for (const StageDef& d : Table()) {
    if (d.info.name == name) return &d;
  }
  return nullptr;
}

Result<IndexCoding> ResolveIndex(const StageParams& p, std::string_view name) {
  IndexCoding ic;
  if (name == "raw") {
    ic.kind = IndexKind::kRaw;
  } else if (name == "gamma") {
    ic.kind = IndexKind::kGamma;
  } else {
    ic.kind = IndexKind::kRice;
    if (p.Get("k") != "auto") {
      TERN_ASSIGN_OR_RETURN(int64_t k, p.Integer("k", 0, 30));
      ic.rice_k = static_cast<int>(k);
    }
  }
  return ic;
}

}  // namespace

Result<StageParams> StageParams::Resolve(const Stage& stage, const CodecInfo& info) {
  StageParams out;
  out.name_ = stage.name;
  for (const Param& p : stage.params) {
    bool known = std::any_of(info.params.begin(), info.params.end(),
                             [&](const CodecParamInfo& q) { return q.name == p.key; });
    if (!known) {
      return InvalidArgumentError("codec '" + stage.name + "' has no parameter '" + p.key + "'");
    }
  }
  out.canonical_ = stage.name;
  for (const CodecParamInfo& q : info.params) {
    std::string v = q.default_value;
    for (const Param& p : stage.params) {
      if (p.key == q.name) v = p.value;
    }
    Result<double> num = ParseNumber(v);
    if (num.ok()) v = FormatNumber(*num);
    out.canonical_ += (out.values_.empty() ? ":" : ",") + q.name + "=" + v;
    out.values_.push_back({q.name, v});
  }
  return out;
}

const std::string& StageParams::Get(std::string_view key) const {
  for (const Param& p : values_) {
    if (p.key == key) return p.value;
  }
  static const std::string kEmpty;
  return kEmpty;
}

Result<double> StageParams::Number(std::string_view key, double lo, double hi) const {
  Result<double> v = ParseNumber(Get(key));
  if (!v.ok() || *v < lo || *v > hi) {
    return InvalidArgumentError(name_ + ": " + std::string(key) + "=" + Get(key) +
                                " must be a number in [" + FormatNumber(lo) + ", " +
                                FormatNumber(hi) + "]");
  }
  return *v;
}

Result<int64_t> StageParams::Integer(std::string_view key, int64_t lo, int64_t hi) const {
  Result<double> v = ParseNumber(Get(key));
  if (!v.ok() || *v != std::floor(*v) || *v < static_cast<double>(lo) ||
      *v > static_cast<double>(hi)) {
    return InvalidArgumentError(name_ + ": " + std::string(key) + "=" + Get(key) +
                                " must be an integer in [" + std::to_string(lo) + ", " +
                                std::to_string(hi) + "]");
  }
  return static_cast<int64_t>(*v);
}

Result<std::string> StageParams::Choice(std::string_view key,
                                        std::initializer_list<std::string_view> choices) const {
  const std::string& v = Get(key);
  std::string list;
  for (std::string_view c : choices) {
    if (v == c) return v;
    if (!list.empty()) list += '|';
    list += c;
  }
  return InvalidArgumentError(name_ + ": " + std::string(key) + "=" + v + " must be one of " +
                              list);
}

const CodecInfo* FindStageInfo(std::string_view name) {
  const StageDef* d = FindDef(name);
  return d ? &d->info : nullptr;
}

Result<std::unique_ptr<Codec>> BuildPipeline(const std::vector<Stage>& stages) {
  std::vector<StageParams> resolved;
  std::vector<const StageDef*> defs;
  for (const Stage& st : stages) {
    const StageDef* d = FindDef(st.name);
    if (d == nullptr) return InvalidArgumentError("unknown codec '" + st.name + "'");
    if (d->info.kind == "feedback") {
      return InvalidArgumentError("'" + st.name + "' is error feedback: write " + st.name +
                                  "(<codec>) and use ErrorFeedback");
    }
    TERN_ASSIGN_OR_RETURN(StageParams p, StageParams::Resolve(st, d->info));
    resolved.push_back(std::move(p));
    defs.push_back(d);
  }
  if (defs.front()->info.kind != "value") {
    return InvalidArgumentError("a pipeline starts with a value codec, not '" +
                                defs.front()->info.name + "'");
  }
  size_t i = 1;
  IndexCoding index;
  std::string spec = resolved[0].canonical();
  if (defs[0]->sparse) {
    StageParams dflt = *StageParams::Resolve(Stage{"rice", {}}, FindDef("rice")->info);
    const StageParams* ip = &dflt;
    std::string_view iname = "rice";
    if (i < defs.size() && defs[i]->info.kind == "index") ip = &resolved[i], iname = defs[i++]->info.name;
    TERN_ASSIGN_OR_RETURN(index, ResolveIndex(*ip, iname));
    spec += "|" + ip->canonical();
  }
  std::string value_spec = spec;
  const StageParams* zstd = nullptr;
  if (i < defs.size() && defs[i]->info.kind == "bytes") {
    zstd = &resolved[i++];
    spec += "|" + zstd->canonical();
  }
  if (i < defs.size()) {
    return InvalidArgumentError("codec stage '" + defs[i]->info.name + "' is not allowed after '" +
                                defs[i - 1]->info.name + "'");
  }
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<Codec> codec,
                        defs[0]->make(StageArgs{resolved[0], index, value_spec}));
  if (zstd != nullptr) return MakeZstd(*zstd, std::move(codec), spec);
  return codec;
}

}  // namespace codec

Result<std::unique_ptr<Codec>> Codec::Create(std::string_view spec) {
  TERN_ASSIGN_OR_RETURN(codec::ParsedSpec parsed, codec::ParseSpec(spec));
  if (parsed.feedback) {
    std::string msg(spec);  // (gcc 12 misfires -Wrestrict on "'" + std::string)
    msg += " is stateful error feedback: use ErrorFeedback::Create";
    return InvalidArgumentError(msg);
  }
  return codec::BuildPipeline(parsed.stages);
}

Status Codec::Encode(std::span<const float> in, const CodecContext& ctx, std::string* out) const {
  size_t old = out->size();
  out->resize(old + MaxEncodedSize(in.size()));
  std::span<uint8_t> dst(reinterpret_cast<uint8_t*>(out->data()) + old, out->size() - old);
  Result<size_t> n = Encode(in, ctx, dst);
  if (!n.ok()) {
    out->resize(old);
    return n.status();
  }
  out->resize(old + *n);
  return OkStatus();
}

const std::vector<CodecInfo>& ListCodecs() {
  static const auto* list = [] {
    auto* v = new std::vector<CodecInfo>;
    for (const auto& d : codec::Table()) v->push_back(d.info);
    return v;
  }();
  return *list;
}

}  // namespace tern
