// The architectures of the built-in models, without torch: their kinds,
// options, and the name and shape of every parameter tensor in flat order.
// The trainer's Model (model.h) builds its tensors from this table; the
// launcher reads it to check run options against the model (for example
// Streaming DiLoCo's fragment count against its layers) before it spawns
// any worker.
//
//   TERN_ASSIGN_OR_RETURN(ModelKind k, ParseModelKind("cnn"));
//   std::vector<ParamSpec> specs = ModelArchitecture({.kind = k});
//   // conv1.weight [16, 1, 5, 5], conv1.bias [16], conv2.weight ...
//
// Thread-safety: pure functions.
#ifndef TERN_TRAIN_MODEL_SPEC_H_
#define TERN_TRAIN_MODEL_SPEC_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tern/status.h"

namespace tern::train {

enum class ModelKind { kMlp, kCnn };

// "mlp" or "cnn"; kInvalidArgument otherwise.
Result<ModelKind> ParseModelKind(std::string_view name);
std::string_view ModelKindName(ModelKind kind);

struct ModelOptions {
  ModelKind kind = ModelKind::kCnn;
  uint64_t seed = 0;
  int image_rows = 28;
  int image_cols = 28;
  int num_classes = 10;
  int mlp_hidden = 256;
};

// kInvalidArgument for sizes the architecture cannot take (images of 1 to
// 4096 pixels a side, at least 16 for the CNN; 2 to 1000 classes; an MLP
// hidden width of 1 to 65536).
Status ValidateModelOptions(const ModelOptions& options);

// One parameter tensor of an architecture.
struct ParamSpec {
  std::string name;            // "conv1.weight", "fc.bias", ...
  std::vector<int64_t> shape;  // torch layout (out, in, kh, kw) / (out, in) / (out)
  int64_t fan_in = 0;          // of the layer, for the initialisation bound
  int64_t numel() const;
};

// Every parameter in flat order. REQUIRES: ValidateModelOptions(options).
//   kMlp  fc1.weight, fc1.bias, fc2.weight, fc2.bias
//   kCnn  conv1.weight, conv1.bias, conv2.weight, conv2.bias, fc.weight, fc.bias
std::vector<ParamSpec> ModelArchitecture(const ModelOptions& options);

}  // namespace tern::train

#endif  // TERN_TRAIN_MODEL_SPEC_H_
