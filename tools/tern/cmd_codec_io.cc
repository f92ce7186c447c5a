#include "cmd_codec_io.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "util/bytes.h"

namespace tern::cli {
namespace {

constexpr char kNpyMagic[] = "\x93NUMPY";

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The value of 'key': in a NumPy header dict, up to the next ',' or '}' (or
// the matching ')' for the shape tuple).
Result<std::string> DictValue(std::string_view header, std::string_view key) {
  size_t k = header.find("'" + std::string(key) + "'");
  if (k == std::string_view::npos) return InvalidArgumentError("npy header lacks '" + std::string(key) + "'");
  size_t colon = header.find(':', k);
  if (colon == std::string_view::npos) return InvalidArgumentError("malformed npy header");
  size_t b = colon + 1;
  while (b < header.size() && header[b] == ' ') ++b;
  size_t e = header[b] == '(' ? header.find(')', b) : header.find_first_of(",}", b);
  if (e == std::string_view::npos) return InvalidArgumentError("malformed npy header");
  if (header[b] == '(') ++e;
  return std::string(header.substr(b, e - b));
}

Result<Shape> ParseShapeTuple(const std::string& t) {
  std::vector<int64_t> dims;
  if (t.size() < 2 || t.front() != '(' || t.back() != ')') {
    return InvalidArgumentError("npy shape is not a tuple: " + t);
  }
  size_t i = 1;
  while (i < t.size() - 1) {
    while (i < t.size() - 1 && (t[i] == ' ' || t[i] == ',')) ++i;
    if (i >= t.size() - 1) break;
    int64_t v = 0;
    size_t digits = 0;
    while (i < t.size() - 1 && t[i] >= '0' && t[i] <= '9') {
      if (v > (int64_t{1} << 40)) return InvalidArgumentError("npy dimension too large");
      v = v * 10 + (t[i++] - '0');
      ++digits;
    }
    if (digits == 0) return InvalidArgumentError("bad npy shape: " + t);
    dims.push_back(v);
  }
  return Shape::FromVector(dims);
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

Result<TensorFile> ParseNpy(std::string_view bytes) {
  ByteReader r(bytes);
  TERN_ASSIGN_OR_RETURN(std::string_view magic, r.Bytes(6));
  if (magic != std::string_view(kNpyMagic, 6)) return InvalidArgumentError("not an .npy file");
  TERN_ASSIGN_OR_RETURN(uint8_t major, r.U8());
  TERN_RETURN_IF_ERROR(r.Skip(1));
  uint32_t hlen = 0;
  if (major == 1) {
    TERN_ASSIGN_OR_RETURN(uint16_t h, r.U16());
    hlen = h;
  } else if (major == 2 || major == 3) {
    TERN_ASSIGN_OR_RETURN(hlen, r.U32());
  } else {
    return InvalidArgumentError("unsupported .npy version " + std::to_string(major));
  }
  if (hlen > 65536) return InvalidArgumentError("npy header too long");
  TERN_ASSIGN_OR_RETURN(std::string_view header, r.Bytes(hlen));
  TERN_ASSIGN_OR_RETURN(std::string descr, DictValue(header, "descr"));
  TERN_ASSIGN_OR_RETURN(std::string order, DictValue(header, "fortran_order"));
  TERN_ASSIGN_OR_RETURN(std::string shape, DictValue(header, "shape"));
  TensorFile t;
  if (descr == "'<f4'") {
    t.dtype = DType::kF32;
  } else if (descr == "'<f2'") {
    t.dtype = DType::kF16;
  } else {
    return InvalidArgumentError("npy dtype " + descr + " is not float32 or float16");
  }
  if (order != "False") return InvalidArgumentError("npy arrays must be C order");
  TERN_ASSIGN_OR_RETURN(t.shape, ParseShapeTuple(shape));
  const uint64_t want = static_cast<uint64_t>(t.shape.numel()) * DTypeSize(t.dtype);
  if (want != r.remaining()) {
    return InvalidArgumentError("npy data is " + std::to_string(r.remaining()) +
                                " bytes, its shape needs " + std::to_string(want));
  }
  t.data.assign(r.cursor(), r.cursor() + r.remaining());
  return t;
}

Result<TensorFile> ReadTensorFile(const std::string& path, uint64_t max_bytes) {
  TERN_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path, max_bytes));
  if (EndsWith(path, ".npy") || bytes.compare(0, 6, kNpyMagic, 6) == 0) {
    Result<TensorFile> t = ParseNpy(bytes);
    if (!t.ok()) return t.status().WithContext(path);
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

std::string EncodeNpy(const std::vector<float>& values, const Shape& shape, DType dtype) {
  std::string dims;  // "", "3," or "2, 3", as Python spells tuples
  for (int i = 0; i < shape.rank(); ++i) {
    if (i > 0) dims += ", ";
    dims += std::to_string(shape.dim(i));
  }
  if (shape.rank() == 1) dims += ",";
  std::string header = std::string("{'descr': '") + (dtype == DType::kF16 ? "<f2" : "<f4") +
                       "', 'fortran_order': False, 'shape': (" + dims + "), }";
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  std::string out(kNpyMagic, 6);
  out.push_back('\x01');
  out.push_back('\x00');
  ByteWriter(&out).U16(static_cast<uint16_t>(header.size()));
  out += header;
  if (dtype == DType::kF16) {
    std::vector<uint16_t> h(values.size());
    FloatToHalf(values.data(), h.data(), values.size());
    out.append(reinterpret_cast<const char*>(h.data()), 2 * h.size());
  } else {
    out.append(reinterpret_cast<const char*>(values.data()), 4 * values.size());
  }
  return out;
}

}  // namespace tern::cli
