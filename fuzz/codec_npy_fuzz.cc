// Fuzz target: the .npy parser (src/codec/npy.h) on arbitrary bytes. It
// must return kDataLoss / kInvalidArgument or an array whose data matches
// its shape, never crash, hang or allocate more than the input. A parsed
// float32 array re-encodes to a file that parses to the same array.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "codec/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  tern::Result<tern::codec::NpyArray> a = tern::codec::ParseNpy(bytes);
  if (!a.ok()) {
    tern::StatusCode c = a.status().code();
    if (c != tern::StatusCode::kDataLoss && c != tern::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  if (a->data.size() > size) std::abort();
  if (a->data.size() != static_cast<size_t>(a->shape.numel()) * tern::DTypeSize(a->dtype)) {
    std::abort();
  }
  if (a->dtype == tern::DType::kF32) {
    std::vector<float> v(a->data.size() / 4);
    if (!v.empty()) std::memcpy(v.data(), a->data.data(), a->data.size());
    tern::Result<tern::codec::NpyArray> b =
        tern::codec::ParseNpy(tern::codec::EncodeNpy(v, a->shape, tern::DType::kF32));
    if (!b.ok() || !(b->shape == a->shape) || b->data != a->data) std::abort();
  }
  return 0;
}
