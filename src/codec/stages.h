// The stage table behind Codec::Create and ListCodecs: each value stage's
// factory, resolved parameters, and the position coding of sparse stages.
// Internal to the codec module.
#ifndef TERN_CODEC_STAGES_H_
#define TERN_CODEC_STAGES_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "codec/spec.h"
#include "tern/codec.h"
#include "tern/status.h"

namespace tern::codec {

// A stage's parameters after defaults were filled in and numbers were put in
// canonical form, in the order of its CodecInfo.
class StageParams {
 public:
  // kInvalidArgument for a parameter `info` does not list.
  static Result<StageParams> Resolve(const Stage& stage, const CodecInfo& info);

  // The value as a number within [lo, hi]; kInvalidArgument otherwise.
  Result<double> Number(std::string_view key, double lo, double hi) const;
  // As Number, and integral.
  Result<int64_t> Integer(std::string_view key, int64_t lo, int64_t hi) const;
  // The value, which must be one of `choices`.
  Result<std::string> Choice(std::string_view key,
                             std::initializer_list<std::string_view> choices) const;
  const std::string& Get(std::string_view key) const;
  // "name" or "name:k1=v1,k2=v2" with every parameter.
  const std::string& canonical() const { return canonical_; }

 private:
  std::string name_;
  std::vector<Param> values_;
  std::string canonical_;
};

// How a sparse stage writes its sorted positions (codec/index_coder.h).
enum class IndexKind : uint8_t { kRaw = 0, kRice = 1, kGamma = 2 };
struct IndexCoding {
  IndexKind kind = IndexKind::kRice;
  int rice_k = -1;  // -1: chosen per payload (smallest stream)
};

struct StageArgs {
  const StageParams& params;
  IndexCoding index;
  std::string spec;  // the canonical spec of the codec being built
};

using StageFactory = Result<std::unique_ptr<Codec>> (*)(const StageArgs& args);

// Factories of the value stages, one per codec file.
Result<std::unique_ptr<Codec>> MakeCast(const StageArgs& args);  // fp32, fp16, bf16
Result<std::unique_ptr<Codec>> MakeInt8(const StageArgs& args);
Result<std::unique_ptr<Codec>> MakeInt4(const StageArgs& args);
Result<std::unique_ptr<Codec>> MakeLut8(const StageArgs& args);
Result<std::unique_ptr<Codec>> MakeFp4(const StageArgs& args);
Result<std::unique_ptr<Codec>> MakeQsgd(const StageArgs& args);
Result<std::unique_ptr<Codec>> MakeTernGrad(const StageArgs& args);
Result<std::unique_ptr<Codec>> MakeSign(const StageArgs& args);
Result<std::unique_ptr<Codec>> MakeTopK(const StageArgs& args);
Result<std::unique_ptr<Codec>> MakeRandK(const StageArgs& args);
Result<std::unique_ptr<Codec>> MakeComPeft(const StageArgs& args);
Result<std::unique_ptr<Codec>> MakeFedZip(const StageArgs& args);
// The byte stage wraps the codec built so far.
Result<std::unique_ptr<Codec>> MakeZstd(const StageParams& params, std::unique_ptr<Codec> inner,
                                        std::string spec);

// Builds a codec from the stages of a parsed pipeline (no feedback wrapper).
Result<std::unique_ptr<Codec>> BuildPipeline(const std::vector<Stage>& stages);

// The CodecInfo of a stage or wrapper by name, or null.
const CodecInfo* FindStageInfo(std::string_view name);

}  // namespace tern::codec

#endif  // TERN_CODEC_STAGES_H_
