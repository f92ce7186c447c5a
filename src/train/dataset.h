// Image classification data held in memory: Fashion-MNIST from the Debian
// package dataset-fashion-mnist.
//
// Images stay as unsigned bytes (47 MB for the 60k training images, a
// quarter of the float form), so four worker processes on one machine each
// hold a copy cheaply; batches are converted to float when assembled
// (PixelToFloat).
//
//   FashionMnistOptions opts;                 // /usr/share/datasets/fashion-mnist
//   TERN_ASSIGN_OR_RETURN(FashionMnist d, LoadFashionMnist(opts));
//   const uint8_t* img = d.train.image(17);   // 28 * 28 bytes
//   int label = d.train.labels[17];
//
// Thread-safety: loading is reentrant; a loaded ImageSet is immutable and
// may be read from any number of threads.
#ifndef TERN_TRAIN_DATASET_H_
#define TERN_TRAIN_DATASET_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "tern/status.h"

namespace tern::train {

inline constexpr char kFashionMnistDir[] = "/usr/share/datasets/fashion-mnist";
inline constexpr char kFashionMnistInstallHint[] =
    "install it with: apt-get install dataset-fashion-mnist";

// N images of rows x cols bytes, each with a label in [0, num_classes).
struct ImageSet {
  int64_t count = 0;
  int rows = 0;
  int cols = 0;
  int num_classes = 0;
  std::vector<uint8_t> pixels;  // count * rows * cols, row-major
  std::vector<uint8_t> labels;  // count

  int64_t image_size() const { return int64_t{rows} * cols; }
  const uint8_t* image(int64_t i) const { return pixels.data() + i * image_size(); }
};

struct FashionMnist {
  ImageSet train;  // 60000
  ImageSet test;   // 10000
};

struct FashionMnistOptions {
  std::string dir = kFashionMnistDir;
  int64_t max_train = -1;  // first N training images only (all when negative)
  int64_t max_test = -1;   // first N test images only (all when negative)
};

// Loads the four files {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz from
// `options.dir`. Returns kNotFound (with the apt-get hint) when a file is
// missing, kDataLoss when a file is corrupt or the image and label counts
// disagree or a label is not in [0, 10), kInvalidArgument for a file that is
// not IDX. Blocks on file I/O (0.2-0.3 s for all 70k images here).
Result<FashionMnist> LoadFashionMnist(const FashionMnistOptions& options = {});

// Loads one images file and its labels file as an ImageSet with
// `num_classes` classes. Same codes as LoadFashionMnist.
Result<ImageSet> LoadImageSet(const std::string& images_path, const std::string& labels_path,
                              int num_classes, int64_t max_items = -1);

// Pixel normalisation shared by training and evaluation: byte / 255, then
// standardised with Fashion-MNIST's mean and standard deviation. A table so
// every host computes the same floats (exactly rounded operations only).
const std::array<float, 256>& PixelToFloat();

}  // namespace tern::train

#endif  // TERN_TRAIN_DATASET_H_
