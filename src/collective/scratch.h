// Grow-only, uninitialised byte buffers reused across operations, so the
// hot path does not allocate (or zero-fill) per call.
//
// Thread-compatible.
#ifndef TERN_COLLECTIVE_SCRATCH_H_
#define TERN_COLLECTIVE_SCRATCH_H_

#include <cstddef>
#include <cstdint>
#include <memory>

namespace tern::collective {

class Scratch {
 public:
  // At least `bytes` bytes (contents unspecified); valid until the next Get.
  uint8_t* Get(size_t bytes) {
    if (bytes > capacity_) {
      data_.reset(new uint8_t[bytes]);
      capacity_ = bytes;
    }
    return data_.get();
  }

 private:
  std::unique_ptr<uint8_t[]> data_;
  size_t capacity_ = 0;
};

}  // namespace tern::collective

#endif  // TERN_COLLECTIVE_SCRATCH_H_
