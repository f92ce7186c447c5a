#include "train/dataset.h"

#include <string>
#include <utility>

#include "train/idx_reader.h"

namespace tern::train {
namespace {

// Fashion-MNIST training-set statistics of byte / 255.
constexpr float kPixelMean = 0.2860f;
constexpr float kPixelStd = 0.3530f;

Status WithInstallHint(Status s) {
  if (s.code() != StatusCode::kNotFound) return s;
  return NotFoundError(std::string(s.message()) + "; " + kFashionMnistInstallHint);
}

}  // namespace

Result<ImageSet> LoadImageSet(const std::string& images_path, const std::string& labels_path,
                              int num_classes, int64_t max_items) {
  IdxReadOptions read;
  read.max_items = max_items;
  Result<IdxArray> images = ReadIdx(images_path, 3, read);
  if (!images.ok()) return WithInstallHint(images.status());
  Result<IdxArray> labels = ReadIdx(labels_path, 1, read);
  if (!labels.ok()) return WithInstallHint(labels.status());
  if (images->dims[0] != labels->dims[0]) {
    return DataLossError(images_path + " holds " + std::to_string(images->dims[0]) +
                         " images but " + labels_path + " holds " +
                         std::to_string(labels->dims[0]) + " labels");
  }
  for (size_t i = 0; i < labels->data.size(); ++i) {
    if (labels->data[i] >= num_classes) {
      return DataLossError(labels_path + ": label " + std::to_string(labels->data[i]) +
                           " at index " + std::to_string(i) + " is not below " +
                           std::to_string(num_classes));
    }
  }
  ImageSet set;
  set.count = images->dims[0];
  set.rows = static_cast<int>(images->dims[1]);
  set.cols = static_cast<int>(images->dims[2]);
  set.num_classes = num_classes;
  set.pixels = std::move(images->data);
  set.labels = std::move(labels->data);
  return set;
}

Result<FashionMnist> LoadFashionMnist(const FashionMnistOptions& options) {
  const std::string& d = options.dir;
  FashionMnist out;
  TERN_ASSIGN_OR_RETURN(out.train,
                        LoadImageSet(d + "/train-images-idx3-ubyte.gz",
                                     d + "/train-labels-idx1-ubyte.gz", 10, options.max_train));
  TERN_ASSIGN_OR_RETURN(out.test,
                        LoadImageSet(d + "/t10k-images-idx3-ubyte.gz",
                                     d + "/t10k-labels-idx1-ubyte.gz", 10, options.max_test));
  if (out.train.rows != out.test.rows || out.train.cols != out.test.cols) {
    return DataLossError("Fashion-MNIST in " + d + ": training and test images differ in size");
  }
  return out;
}

const std::array<float, 256>& PixelToFloat() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (int i = 0; i < 256; ++i) t[i] = (static_cast<float>(i) / 255.0f - kPixelMean) / kPixelStd;
    return t;
  }();
  return table;
}

}  // namespace tern::train
