#include "train/idx_reader.h"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

namespace tern::train {
namespace {

// Deflate cannot expand data by more than about 1032:1 (zlib's FAQ); a gzip
// file claiming more than this is lying about its size.
constexpr int64_t kMaxDeflateRatio = 1032;
constexpr int kMaxRank = 4;
constexpr uint8_t kTypeUnsignedByte = 0x08;

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};
using GzHandle = std::unique_ptr<gzFile_s, GzCloser>;

std::string Where(const std::string& path) { return "IDX file " + path + ": "; }

// What the file system says about `path`, before zlib touches it.
struct FileFacts {
  int64_t size = 0;
  bool gzip = false;
  uint32_t gzip_isize = 0;  // uncompressed length mod 2^32, from the trailer
};

Result<FileFacts> InspectFile(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return NotFoundError(Where(path) + "no such file");
    return InvalidArgumentError(Where(path) + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return InvalidArgumentError(Where(path) + "not a regular file");
  FileFacts facts;
  facts.size = static_cast<int64_t>(st.st_size);
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return InvalidArgumentError(Where(path) + std::strerror(errno));
  unsigned char head[2] = {0, 0};
  if (std::fread(head, 1, 2, f.get()) == 2 && head[0] == 0x1f && head[1] == 0x8b) {
    facts.gzip = true;
    // 10-byte header + at least 2 bytes of deflate + 8-byte trailer.
    if (facts.size < 20) return DataLossError(Where(path) + "truncated gzip stream");
    unsigned char tail[4];
    if (std::fseek(f.get(), -4, SEEK_END) != 0 || std::fread(tail, 1, 4, f.get()) != 4) {
      return DataLossError(Where(path) + "cannot read the gzip trailer");
    }
    facts.gzip_isize = static_cast<uint32_t>(tail[0]) | static_cast<uint32_t>(tail[1]) << 8 |
                       static_cast<uint32_t>(tail[2]) << 16 | static_cast<uint32_t>(tail[3]) << 24;
  }
  return facts;
}

// Reads exactly `n` bytes, or says why not.
Status ReadExactly(gzFile f, const std::string& path, uint8_t* dst, int64_t n, const char* what) {
  while (n > 0) {
    unsigned chunk = static_cast<unsigned>(std::min<int64_t>(n, int64_t{1} << 30));
    int got = gzread(f, dst, chunk);
    if (got < 0) {
      int err = Z_OK;
      const char* msg = gzerror(f, &err);
      return DataLossError(Where(path) + "corrupt gzip stream in " + what + ": " + msg);
    }
    if (got == 0) {
      int err = Z_OK;
      const char* msg = gzerror(f, &err);
      if (err != Z_OK) return DataLossError(Where(path) + "corrupt gzip stream in " + what + ": " + msg);
      return DataLossError(Where(path) + "truncated in " + what);
    }
    dst += got;
    n -= got;
  }
  return OkStatus();
}

// Checks the declared total size against what the file can hold.
Status CheckDeclaredSize(const std::string& path, const FileFacts& facts, int64_t total) {
  if (!facts.gzip) {
    if (facts.size < total) {
      return DataLossError(Where(path) + "truncated: header declares " + std::to_string(total) +
                           " bytes, file has " + std::to_string(facts.size));
    }
    if (facts.size > total) {
      return DataLossError(Where(path) + std::to_string(facts.size - total) +
                           " trailing bytes after the declared data");
    }
    return OkStatus();
  }
  if (static_cast<uint32_t>(total) != facts.gzip_isize) {
    return DataLossError(Where(path) + "header declares " + std::to_string(total) +
                         " bytes, gzip trailer says " + std::to_string(facts.gzip_isize) +
                         " (mod 2^32)");
  }
  if (total > kMaxDeflateRatio * facts.size) {
    return DataLossError(Where(path) + "declared size " + std::to_string(total) +
                         " exceeds what a gzip file of " + std::to_string(facts.size) +
                         " bytes can hold");
  }
  return OkStatus();
}

// Parses the magic and dimensions; returns the dims.
Result<std::vector<int64_t>> ReadHeader(gzFile f, const std::string& path, int expected_rank) {
  uint8_t magic[4];
  TERN_RETURN_IF_ERROR(ReadExactly(f, path, magic, 4, "the header"));
  if (magic[0] != 0 || magic[1] != 0) return InvalidArgumentError(Where(path) + "bad magic, not an IDX file");
  if (magic[2] != kTypeUnsignedByte) {
    return InvalidArgumentError(Where(path) + "element type 0x" + std::to_string(magic[2]) +
                                " is not unsigned byte (0x08)");
  }
  if (magic[3] != expected_rank) {
    return InvalidArgumentError(Where(path) + "has " + std::to_string(magic[3]) +
                                " dimensions, expected " + std::to_string(expected_rank));
  }
  uint8_t raw[4 * kMaxRank];
  TERN_RETURN_IF_ERROR(ReadExactly(f, path, raw, 4 * expected_rank, "the dimensions"));
  std::vector<int64_t> dims(expected_rank);
  for (int i = 0; i < expected_rank; ++i) {
    const uint8_t* p = raw + 4 * i;
    dims[i] = int64_t{p[0]} << 24 | int64_t{p[1]} << 16 | int64_t{p[2]} << 8 | int64_t{p[3]};
    int64_t bound = i == 0 ? kIdxMaxItems : kIdxMaxInnerDim;
    if (dims[i] > bound || (i > 0 && dims[i] == 0)) {
      return DataLossError(Where(path) + "dimension " + std::to_string(i) + " = " +
                           std::to_string(dims[i]) + " is out of bounds");
    }
  }
  return dims;
}

}  // namespace

Result<IdxArray> ReadIdx(const std::string& path, int expected_rank, const IdxReadOptions& options) {
  if (expected_rank < 1 || expected_rank > kMaxRank) {
    return InvalidArgumentError("ReadIdx: rank must be in [1, 4]");
  }
  TERN_ASSIGN_OR_RETURN(FileFacts facts, InspectFile(path));
  GzHandle f(gzopen(path.c_str(), "rb"));
  if (!f) return InvalidArgumentError(Where(path) + "cannot open: " + std::strerror(errno));
  gzbuffer(f.get(), 1 << 18);
  TERN_ASSIGN_OR_RETURN(std::vector<int64_t> dims, ReadHeader(f.get(), path, expected_rank));

  // All bounded above, so the product cannot overflow int64.
  int64_t item_bytes = 1;
  for (int i = 1; i < expected_rank; ++i) item_bytes *= dims[i];
  int64_t payload = dims[0] * item_bytes;
  if (payload > kIdxMaxBytes) return DataLossError(Where(path) + "declared size is out of bounds");
  TERN_RETURN_IF_ERROR(CheckDeclaredSize(path, facts, 4 + 4 * expected_rank + payload));

  bool whole = options.max_items < 0 || options.max_items >= dims[0];
  if (!whole) dims[0] = options.max_items;
  IdxArray out;
  out.data.resize(static_cast<size_t>(dims[0] * item_bytes));
  TERN_RETURN_IF_ERROR(ReadExactly(f.get(), path, out.data.data(), dims[0] * item_bytes, "the data"));
  if (whole) {
    // Reaching the end makes zlib check the gzip CRC and length.
    uint8_t extra;
    int got = gzread(f.get(), &extra, 1);
    int err = Z_OK;
    const char* msg = gzerror(f.get(), &err);
    if (got < 0 || err != Z_OK) return DataLossError(Where(path) + "corrupt gzip stream: " + msg);
    if (got > 0) return DataLossError(Where(path) + "trailing bytes after the declared data");
  }
  out.dims = std::move(dims);
  return out;
}

}  // namespace tern::train
