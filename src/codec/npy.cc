#include "codec/npy.h"

#include "util/bytes.h"

namespace tern::codec {
namespace {

constexpr std::string_view kMagic("\x93NUMPY", 6);
// NumPy writes headers of a few hundred bytes; anything past this is hostile.
constexpr uint32_t kMaxHeader = 65536;

// The value of 'key' in a header dict: from after the ':' and blanks up to
// the next ',' or '}', or through the ')' that closes a tuple.
Result<std::string_view> DictValue(std::string_view header, std::string_view key) {
  std::string quoted(1, '\'');
  quoted.append(key);
  quoted.push_back('\'');
  const size_t k = header.find(quoted);
  if (k == std::string_view::npos) {
    return InvalidArgumentError("npy header lacks '" + std::string(key) + "'");
  }
  const size_t colon = header.find(':', k + quoted.size());
  if (colon == std::string_view::npos) return InvalidArgumentError("malformed npy header");
  size_t b = colon + 1;
  while (b < header.size() && header[b] == ' ') ++b;
  if (b == header.size()) return InvalidArgumentError("malformed npy header");
  size_t e = header[b] == '(' ? header.find(')', b) : header.find_first_of(",}", b);
  if (e == std::string_view::npos) return InvalidArgumentError("malformed npy header");
  if (header[b] == '(') ++e;
  return header.substr(b, e - b);
}

// "(2, 3)", "(3,)" or "()": at most Shape::kMaxRank dimensions of up to 2^40.
Result<Shape> ParseShapeTuple(std::string_view t) {
  if (t.size() < 2 || t.front() != '(' || t.back() != ')') {
    return InvalidArgumentError("npy shape is not a tuple: " + std::string(t));
  }
  std::vector<int64_t> dims;
  size_t i = 1;
  const size_t end = t.size() - 1;
  while (i < end) {
    while (i < end && (t[i] == ' ' || t[i] == ',')) ++i;
    if (i >= end) break;
    int64_t v = 0;
    size_t digits = 0;
    while (i < end && t[i] >= '0' && t[i] <= '9') {
      if (v > (int64_t{1} << 40)) return InvalidArgumentError("npy dimension too large");
      v = v * 10 + (t[i++] - '0');
      ++digits;
    }
    if (digits == 0) return InvalidArgumentError("bad npy shape: " + std::string(t));
    if (dims.size() == static_cast<size_t>(Shape::kMaxRank)) {
      return InvalidArgumentError("npy rank exceeds " + std::to_string(Shape::kMaxRank));
    }
    dims.push_back(v);
  }
  return Shape::FromVector(dims);
}

// shape.numel() if it is at most `limit`, computed without overflow.
Result<uint64_t> BoundedNumel(const Shape& shape, uint64_t limit) {
  for (int i = 0; i < shape.rank(); ++i) {
    if (shape.dim(i) == 0) return 0;  // empty, whatever the other dimensions
  }
  uint64_t n = 1;
  for (int i = 0; i < shape.rank(); ++i) {
    const uint64_t d = static_cast<uint64_t>(shape.dim(i));
    if (n > limit / d) return InvalidArgumentError("npy shape needs more data than the file has");
    n *= d;
  }
  return n;
}

}  // namespace

bool IsNpy(std::string_view bytes) { return bytes.substr(0, kMagic.size()) == kMagic; }

Result<NpyArray> ParseNpy(std::string_view bytes) {
  ByteReader r(bytes);
  TERN_ASSIGN_OR_RETURN(std::string_view magic, r.Bytes(kMagic.size()));
  if (magic != kMagic) return InvalidArgumentError("not an .npy file");
  TERN_ASSIGN_OR_RETURN(uint8_t major, r.U8());
  TERN_RETURN_IF_ERROR(r.Skip(1));  // minor version
  uint32_t hlen = 0;
  if (major == 1) {
    TERN_ASSIGN_OR_RETURN(uint16_t h, r.U16());
    hlen = h;
  } else if (major == 2 || major == 3) {
    TERN_ASSIGN_OR_RETURN(hlen, r.U32());
  } else {
    return InvalidArgumentError("unsupported .npy version " + std::to_string(major));
  }
  if (hlen > kMaxHeader) return InvalidArgumentError("npy header too long");
  TERN_ASSIGN_OR_RETURN(std::string_view header, r.Bytes(hlen));
  TERN_ASSIGN_OR_RETURN(std::string_view descr, DictValue(header, "descr"));
  TERN_ASSIGN_OR_RETURN(std::string_view order, DictValue(header, "fortran_order"));
  TERN_ASSIGN_OR_RETURN(std::string_view shape, DictValue(header, "shape"));
  NpyArray a;
  if (descr == "'<f4'") {
    a.dtype = DType::kF32;
  } else if (descr == "'<f2'") {
    a.dtype = DType::kF16;
  } else {
    return InvalidArgumentError("npy dtype " + std::string(descr) + " is not float32 or float16");
  }
  if (order != "False") return InvalidArgumentError("npy arrays must be C order");
  TERN_ASSIGN_OR_RETURN(a.shape, ParseShapeTuple(shape));
  const uint64_t size = DTypeSize(a.dtype);
  TERN_ASSIGN_OR_RETURN(uint64_t numel, BoundedNumel(a.shape, r.remaining() / size));
  if (numel * size != r.remaining()) {
    return InvalidArgumentError("npy data is " + std::to_string(r.remaining()) +
                                " bytes, its shape needs " + std::to_string(numel * size));
  }
  a.data.assign(r.cursor(), r.cursor() + r.remaining());
  return a;
}

std::string EncodeNpy(std::span<const float> values, const Shape& shape, DType dtype) {
  std::string dims;  // "", "3," or "2, 3", as Python spells tuples
  for (int i = 0; i < shape.rank(); ++i) {
    if (i > 0) dims += ", ";
    dims += std::to_string(shape.dim(i));
  }
  if (shape.rank() == 1) dims += ",";
  std::string header = std::string("{'descr': '") + (dtype == DType::kF16 ? "<f2" : "<f4") +
                       "', 'fortran_order': False, 'shape': (" + dims + "), }";
  // NumPy pads the preamble and header to a multiple of 64 bytes.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  std::string out(kMagic);
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

}  // namespace tern::codec
