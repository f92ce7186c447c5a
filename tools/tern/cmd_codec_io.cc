#include "cmd_codec_io.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "codec/npy.h"

namespace tern::cli {
namespace {

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Result<std::string> ReadFile(const std::string& path, uint64_t max_bytes) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return NotFoundError("cannot open " + path + ": " + std::strerror(errno));
  std::streamoff size = f.tellg();
  if (size < 0) return InvalidArgumentError("cannot size " + path);
  if (static_cast<uint64_t>(size) > max_bytes) {
    return InvalidArgumentError(path + " is larger than " + std::to_string(max_bytes) + " bytes");
  }
  std::string data(static_cast<size_t>(size), '\0');
  f.seekg(0);
  if (!f.read(data.data(), size)) return InvalidArgumentError("cannot read " + path);
  return data;
}

Status WriteFile(const std::string& path, std::string_view bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return InvalidArgumentError("cannot create " + path + ": " + std::strerror(errno));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f.flush()) return InvalidArgumentError("cannot write " + path);
  return OkStatus();
}

Result<TensorFile> ReadTensorFile(const std::string& path, uint64_t max_bytes) {
  TERN_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path, max_bytes));
  if (EndsWith(path, ".npy") || codec::IsNpy(bytes)) {
    Result<codec::NpyArray> a = codec::ParseNpy(bytes);
    if (!a.ok()) return a.status().WithContext(path);
    TensorFile t;
    t.dtype = a->dtype;
    t.shape = a->shape;
    t.data = std::move(a->data);
    return t;
  }
  if (bytes.size() % 4 != 0) {
    return InvalidArgumentError(path + ": raw fp32 file size " + std::to_string(bytes.size()) +
                                " is not a multiple of 4");
  }
  TensorFile t;
  t.shape = Shape::Flat(static_cast<int64_t>(bytes.size() / 4));
  t.data.assign(bytes.begin(), bytes.end());
  return t;
}

}  // namespace tern::cli
