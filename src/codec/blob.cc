// The blob container (docs/blob_format.md). Every length is checked against
// the bytes present (or max_elements) before anything is allocated.
#include <algorithm>
#include <vector>

#include "codec/codec_util.h"
#include "codec/spec.h"
#include "tern/codec_blob.h"
#include "util/bytes.h"
#include "util/crc32c.h"

namespace tern {
namespace {

// Bytes of the fixed header fields before the spec, and after the dims.
constexpr size_t kFixedHead = 12;
constexpr size_t kContextBytes = 5 * 8 + 4;  // ctx (4 u64), chunk_elements, chunk_count

struct Chunking {
  uint64_t elements;  // per chunk
  uint64_t count;
};

Chunking ChunksOf(uint64_t numel, uint64_t chunk) {
  if (numel == 0) return {chunk, 0};
  if (chunk == 0 || chunk > numel) chunk = numel;
  return {chunk, (numel + chunk - 1) / chunk};
}

// numel of dims, or an error if it exceeds max_elements (overflow-safe).
Result<uint64_t> CheckedNumel(const std::vector<int64_t>& dims, uint64_t max_elements) {
  uint64_t numel = 1;
  for (int64_t d : dims) {
    if (d < 0 || static_cast<uint64_t>(d) > max_elements) {
      return InvalidArgumentError("blob dimension " + std::to_string(d) + " out of range");
    }
    if (d != 0 && numel > max_elements / static_cast<uint64_t>(d)) {
      return InvalidArgumentError("blob has more than " + std::to_string(max_elements) +
                                  " elements");
    }
    numel *= static_cast<uint64_t>(d);
  }
  return numel;
}

}  // namespace

Status EncodeBlob(const Codec& codec, const TensorView& in, const CodecContext& ctx,
                  std::string* out, const BlobOptions& options) {
  const uint64_t numel = in.numel();
  if (numel > (uint64_t{1} << 40)) return InvalidArgumentError("tensor too large for a blob");
  const Chunking ch = ChunksOf(numel, options.chunk_elements);
  if (ch.count > UINT32_MAX) return InvalidArgumentError("more than 2^32 blob chunks");
  if (codec.spec().size() > codec::kMaxSpecLength) {
    return InvalidArgumentError("codec spec too long for a blob");
  }
  std::string payloads;
  std::vector<uint64_t> sizes;
  std::vector<float> scratch;
  for (uint64_t c = 0; c < ch.count; ++c) {
    const uint64_t begin = c * ch.elements, len = std::min(ch.elements, numel - begin);
    std::span<const float> values;
    if (in.dtype == DType::kF32) {
      values = std::span<const float>(static_cast<const float*>(in.data) + begin, len);
    } else {
      scratch.resize(len);
      const uint16_t* src = static_cast<const uint16_t*>(in.data) + begin;
      if (in.dtype == DType::kF16) {
        HalfToFloat(src, scratch.data(), len);
      } else {
        BF16ToFloat(src, scratch.data(), len);
      }
      values = scratch;
    }
    CodecContext cc = ctx;
    cc.offset = ctx.offset + begin;
    const size_t before = payloads.size();
    TERN_RETURN_IF_ERROR(codec.Encode(values, cc, &payloads));
    sizes.push_back(payloads.size() - before);
  }
  const std::string& spec = codec.spec();
  std::string head;
  ByteWriter w(&head);
  w.U32(kBlobMagic);
  w.U16(kBlobVersion);
  w.U8(static_cast<uint8_t>(in.dtype));
  w.U8(static_cast<uint8_t>(in.shape.rank()));
  w.U16(static_cast<uint16_t>(spec.size()));
  w.U16(0);
  w.Bytes(spec);
  for (int i = 0; i < in.shape.rank(); ++i) w.U64(static_cast<uint64_t>(in.shape.dim(i)));
  w.U64(ctx.seed);
  w.U64(ctx.step);
  w.U64(ctx.tensor_id);
  w.U64(ctx.offset);
  w.U64(ch.elements);
  w.U32(static_cast<uint32_t>(ch.count));
  for (uint64_t s : sizes) w.U64(s);
  w.U32(Crc32c(head.data(), head.size()));
  out->append(head);
  out->append(payloads);
  ByteWriter(out).U32(Crc32c(payloads.data(), payloads.size()));
  return OkStatus();
}

Result<BlobHeader> ParseBlobHeader(std::string_view blob, uint64_t max_elements) {
  ByteReader r(blob);
  BlobHeader h;
  TERN_ASSIGN_OR_RETURN(uint32_t magic, r.U32());
  if (magic != kBlobMagic) return DataLossError("not a tern blob (bad magic)");
  TERN_ASSIGN_OR_RETURN(h.version, r.U16());
  if (h.version != kBlobVersion) {
    return InvalidArgumentError("blob format version " + std::to_string(h.version) +
                                " is not supported (this build reads " +
                                std::to_string(kBlobVersion) + ")");
  }
  TERN_ASSIGN_OR_RETURN(uint8_t dtype, r.U8());
  TERN_ASSIGN_OR_RETURN(uint8_t rank, r.U8());
  TERN_ASSIGN_OR_RETURN(uint16_t spec_len, r.U16());
  TERN_ASSIGN_OR_RETURN(uint16_t reserved, r.U16());
  if (spec_len == 0 || spec_len > codec::kMaxSpecLength) return DataLossError("bad spec length");
  TERN_ASSIGN_OR_RETURN(std::string_view spec, r.Bytes(spec_len));
  if (rank > Shape::kMaxRank) return DataLossError("blob rank > 8");
  std::vector<int64_t> dims(rank);
  for (auto& d : dims) {
    TERN_ASSIGN_OR_RETURN(uint64_t v, r.U64());
    d = static_cast<int64_t>(v);
  }
  TERN_ASSIGN_OR_RETURN(h.ctx.seed, r.U64());
  TERN_ASSIGN_OR_RETURN(h.ctx.step, r.U64());
  TERN_ASSIGN_OR_RETURN(h.ctx.tensor_id, r.U64());
  TERN_ASSIGN_OR_RETURN(h.ctx.offset, r.U64());
  TERN_ASSIGN_OR_RETURN(h.chunk_elements, r.U64());
  TERN_ASSIGN_OR_RETURN(uint32_t chunk_count, r.U32());
  if (static_cast<uint64_t>(chunk_count) * 8 > r.remaining()) {
    return DataLossError("truncated blob header (payload table)");
  }
  const uint8_t* table = r.cursor();
  TERN_RETURN_IF_ERROR(r.Skip(size_t{chunk_count} * 8));
  const size_t crc_offset = blob.size() - r.remaining();
  TERN_ASSIGN_OR_RETURN(uint32_t crc, r.U32());
  if (crc != Crc32c(blob.data(), crc_offset)) return DataLossError("blob header checksum mismatch");
  // The header is intact; now its meaning.
  if (reserved != 0) return InvalidArgumentError("blob reserved field is not 0");
  if (dtype > static_cast<uint8_t>(DType::kBF16)) return InvalidArgumentError("unknown dtype");
  h.dtype = static_cast<DType>(dtype);
  h.spec = std::string(spec);
  TERN_ASSIGN_OR_RETURN(uint64_t numel, CheckedNumel(dims, max_elements));
  TERN_ASSIGN_OR_RETURN(h.shape, Shape::FromVector(dims));
  const Chunking ch = ChunksOf(numel, h.chunk_elements);
  if (ch.count != chunk_count || (numel > 0 && ch.elements != h.chunk_elements)) {
    return InvalidArgumentError("blob chunking does not match its shape");
  }
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<Codec> codec, Codec::Create(h.spec));
  h.payload_sizes.resize(chunk_count);
  uint64_t total = 0;
  for (uint32_t c = 0; c < chunk_count; ++c) {
    const uint64_t size = LoadLE64(table + 8 * size_t{c});
    const uint64_t len = std::min(ch.elements, numel - c * ch.elements);
    if (size > codec->MaxEncodedSize(len)) return DataLossError("blob payload size too large");
    h.payload_sizes[c] = size;
    total += size;
  }
  h.header_bytes = crc_offset + 4;
  h.total_bytes = h.header_bytes + total + 4;
  return h;
}

Result<DecodedBlob> DecodeBlob(std::string_view blob, uint64_t max_elements) {
  DecodedBlob d;
  TERN_ASSIGN_OR_RETURN(d.header, ParseBlobHeader(blob, max_elements));
  const BlobHeader& h = d.header;
  if (blob.size() < h.total_bytes) return DataLossError("truncated blob payload");
  if (blob.size() > h.total_bytes) return DataLossError("trailing bytes after blob");
  const std::string_view payloads =
      blob.substr(h.header_bytes, h.total_bytes - h.header_bytes - 4);
  const uint32_t crc = LoadLE32(reinterpret_cast<const uint8_t*>(blob.data()) + h.total_bytes - 4);
  if (crc != Crc32c(payloads.data(), payloads.size())) {
    return DataLossError("blob payload checksum mismatch");
  }
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<Codec> codec, Codec::Create(h.spec));
  const uint64_t numel = static_cast<uint64_t>(h.shape.numel());
  d.values.resize(numel);
  uint64_t at = 0;
  for (size_t c = 0; c < h.payload_sizes.size(); ++c) {
    const uint64_t begin = c * h.chunk_elements, len = std::min(h.chunk_elements, numel - begin);
    CodecContext cc = h.ctx;
    cc.offset = h.ctx.offset + begin;
    Status s = codec->Decode(payloads.substr(at, h.payload_sizes[c]), cc,
                             std::span<float>(d.values.data() + begin, len));
    if (!s.ok()) return s.WithContext("blob chunk " + std::to_string(c));
    at += h.payload_sizes[c];
  }
  return d;
}

}  // namespace tern
