// The encoded-blob format: a self-describing file/CLI container for one
// tensor encoded by a Codec (layout in docs/blob_format.md).
//
// A blob holds magic, format version, the canonical codec spec, dtype, shape,
// the CodecContext needed to decode (seed, step, tensor id, offset), the
// payload sizes of its chunks, and crc32c checksums; fixed-width
// little-endian. Collectives do not use blobs: they send bare payloads.
//
// Thread-safety: free functions on caller-owned data; thread-safe.
//
//   std::string blob;
//   TERN_RETURN_IF_ERROR(tern::EncodeBlob(*codec, view, ctx, &blob));
//   TERN_ASSIGN_OR_RETURN(tern::DecodedBlob d, tern::DecodeBlob(blob));
//   // d.values: d.header.shape.numel() floats; d.header.dtype: the input dtype
#ifndef TERN_CODEC_BLOB_H_
#define TERN_CODEC_BLOB_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tern/codec.h"
#include "tern/export.h"
#include "tern/status.h"
#include "tern/tensor.h"

namespace tern {

inline constexpr uint32_t kBlobMagic = 0x424E5254;  // "TRNB" in file order
inline constexpr uint16_t kBlobVersion = 1;
// Decoders refuse blobs with more elements than this unless told otherwise
// (1 GiB of fp32): the element count is read from untrusted bytes.
inline constexpr uint64_t kDefaultMaxBlobElements = uint64_t{1} << 28;

struct BlobOptions {
  // Encode the tensor as independent chunks of this many elements (the last
  // may be shorter); 0 = one chunk. Chunks decode independently; sparse
  // codecs then keep their density per chunk.
  uint64_t chunk_elements = 0;
};

struct BlobHeader {
  uint16_t version = kBlobVersion;
  std::string spec;  // canonical codec spec
  DType dtype = DType::kF32;
  Shape shape;
  CodecContext ctx;  // peer_id is not stored (never needed to decode): 0
  uint64_t chunk_elements = 0;  // elements per chunk (the last may be shorter)
  std::vector<uint64_t> payload_sizes;
  uint64_t header_bytes = 0;  // where the first payload starts
  uint64_t total_bytes = 0;   // header + payloads + trailing crc
};

struct DecodedBlob {
  BlobHeader header;
  std::vector<float> values;  // header.shape.numel() values, row-major
};

// Encodes `in` (fp32, fp16 or bf16; fp16/bf16 are widened to fp32 first)
// with `codec` and appends a blob to *out. kInvalidArgument if the tensor is
// larger than the format allows or a chunk size is out of range.
TERN_EXPORT Status EncodeBlob(const Codec& codec, const TensorView& in, const CodecContext& ctx,
                              std::string* out, const BlobOptions& options = {});

// Parses and checks the header (magic, version, bounds, header crc) without
// touching the payloads. kDataLoss for a truncated or corrupt header,
// kInvalidArgument for a well-formed header this build cannot decode
// (unknown version, dtype, spec; more than max_elements elements).
TERN_EXPORT Result<BlobHeader> ParseBlobHeader(std::string_view blob,
                                               uint64_t max_elements = kDefaultMaxBlobElements);

// Decodes a whole blob (which must be exactly one blob, no trailing bytes).
// Allocates numel floats only after the header passed its checks. Errors as
// ParseBlobHeader, plus kDataLoss for a payload checksum mismatch or a
// payload the codec rejects.
TERN_EXPORT Result<DecodedBlob> DecodeBlob(std::string_view blob,
                                           uint64_t max_elements = kDefaultMaxBlobElements);

}  // namespace tern

#endif  // TERN_CODEC_BLOB_H_
