#include "train/model_spec.h"

namespace tern::train {

Result<ModelKind> ParseModelKind(std::string_view name) {
  if (name == "mlp") return ModelKind::kMlp;
  if (name == "cnn") return ModelKind::kCnn;
  return InvalidArgumentError("model must be 'mlp' or 'cnn', got '" + std::string(name) + "'");
}

std::string_view ModelKindName(ModelKind kind) { return kind == ModelKind::kMlp ? "mlp" : "cnn"; }

Status ValidateModelOptions(const ModelOptions& o) {
  const int min_side = o.kind == ModelKind::kCnn ? 16 : 1;
  if (o.image_rows < min_side || o.image_cols < min_side || o.image_rows > 4096 ||
      o.image_cols > 4096) {
    return InvalidArgumentError("image size " + std::to_string(o.image_rows) + "x" +
                                std::to_string(o.image_cols) + " does not fit the " +
                                std::string(ModelKindName(o.kind)));
  }
  if (o.num_classes < 2 || o.num_classes > 1000) {
    return InvalidArgumentError("num_classes must be in [2, 1000]");
  }
  if (o.mlp_hidden < 1 || o.mlp_hidden > 65536) {
    return InvalidArgumentError("mlp_hidden must be in [1, 65536]");
  }
  return OkStatus();
}

int64_t ParamSpec::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<ParamSpec> ModelArchitecture(const ModelOptions& o) {
  const int64_t pixels = int64_t{o.image_rows} * o.image_cols;
  if (o.kind == ModelKind::kMlp) {
    return {{"fc1.weight", {o.mlp_hidden, pixels}, pixels},
            {"fc1.bias", {o.mlp_hidden}, pixels},
            {"fc2.weight", {o.num_classes, o.mlp_hidden}, o.mlp_hidden},
            {"fc2.bias", {o.num_classes}, o.mlp_hidden}};
  }
  const int64_t h = ((o.image_rows - 4) / 2 - 4) / 2;
  const int64_t w = ((o.image_cols - 4) / 2 - 4) / 2;
  const int64_t flat = 32 * h * w;
  return {{"conv1.weight", {16, 1, 5, 5}, 25},      {"conv1.bias", {16}, 25},
          {"conv2.weight", {32, 16, 5, 5}, 16 * 25}, {"conv2.bias", {32}, 16 * 25},
          {"fc.weight", {o.num_classes, flat}, flat}, {"fc.bias", {o.num_classes}, flat}};
}

}  // namespace tern::train
