// Fuzz target: every codec's payload decoder on arbitrary bytes, and the
// spec parser. Input: byte 0 picks a spec (255: the rest is a spec string
// for Codec::Create / ErrorFeedback::Create), bytes 1-2 the element count,
// the rest is the payload, decoded with Decode and DecodeAdd. Only
// kDataLoss / kInvalidArgument may come back as errors; a payload that
// decodes must decode the same twice (determinism). Byte 0 = 254: byte 1
// picks a spec and the rest are fp32 values to encode (EncodeRoundTrip).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "tern/codec.h"

namespace {

const char* const kSpecs[] = {
    "fp32", "fp16", "bf16", "int8:block=32", "int4:block=16", "lut8", "fp4:block=8",
    "fp4:format=e3m0", "qsgd:levels=5,block=16", "terngrad", "sign", "sign:block=16",
    "topk:density=0.1", "topk:density=0.1|gamma", "topk:density=0.1|raw",
    "topk:density=0.05,select=sampled", "randk:density=0.1", "compeft:density=0.1",
    "compeft:density=0.1|gamma", "fedzip:density=0.3,clusters=4", "fedzip|raw", "int8|zstd",
    "topk:density=0.2|rice:k=3|zstd:level=1"};
constexpr size_t kNumSpecs = sizeof(kSpecs) / sizeof(kSpecs[0]);

const std::vector<std::unique_ptr<tern::Codec>>& Codecs() {
  static auto* codecs = [] {
    auto* v = new std::vector<std::unique_ptr<tern::Codec>>;
    for (const char* s : kSpecs) v->push_back(std::move(tern::Codec::Create(s).value()));
    return v;
  }();
  return *codecs;
}

void CheckCode(const tern::Status& s) {
  if (s.ok()) return;
  if (s.code() != tern::StatusCode::kDataLoss && s.code() != tern::StatusCode::kInvalidArgument) {
    std::abort();
  }
}

// The encoders on arbitrary floats (NaN, infinities, subnormals, long runs
// of equal values): encoding must succeed within MaxEncodedSize, give the
// same bytes twice, and decode.
void EncodeRoundTrip(const tern::Codec& codec, const uint8_t* data, size_t size) {
  std::vector<float> x(size / 4);
  if (!x.empty()) std::memcpy(x.data(), data, 4 * x.size());
  tern::CodecContext ctx{.seed = 1, .step = 2, .tensor_id = 3, .offset = 4};
  std::vector<uint8_t> p1(codec.MaxEncodedSize(x.size())), p2(p1.size());
  tern::Result<size_t> n1 = codec.Encode(x, ctx, std::span<uint8_t>(p1));
  tern::Result<size_t> n2 = codec.Encode(x, ctx, std::span<uint8_t>(p2));
  if (!n1.ok() || !n2.ok() || *n1 != *n2) std::abort();
  if (std::memcmp(p1.data(), p2.data(), *n1) != 0) std::abort();
  std::vector<float> y(x.size());
  if (!codec.Decode(std::span<const uint8_t>(p1.data(), *n1), ctx, y).ok()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  if (data[0] == 255) {
    std::string_view spec(reinterpret_cast<const char*>(data + 1), size - 1);
    auto c = tern::Codec::Create(spec);
    CheckCode(c.status());
    if (c.ok() && !tern::Codec::Create((*c)->spec()).ok()) std::abort();  // canonical reparses
    CheckCode(tern::ErrorFeedback::Create(spec).status());
    return 0;
  }
  if (data[0] == 254) {
    EncodeRoundTrip(*Codecs()[data[1] % kNumSpecs], data + 2, size - 2);
    return 0;
  }
  const tern::Codec& codec = *Codecs()[data[0] % kNumSpecs];
  const size_t n = (data[1] | (data[2] << 8)) % 4097;
  std::span<const uint8_t> payload(data + 3, size - 3);
  tern::CodecContext ctx{.seed = 1, .step = 2, .tensor_id = 3, .offset = 4};
  std::vector<float> a(n, 1.0f), b(n, 1.0f);
  tern::Status s1 = codec.Decode(payload, ctx, a);
  CheckCode(s1);
  tern::Status s2 = codec.DecodeAdd(payload, ctx, b);
  CheckCode(s2);
  if (s1.ok() != s2.ok()) std::abort();
  if (s1.ok()) {
    std::vector<float> again(n, 2.0f);
    if (!codec.Decode(payload, ctx, again).ok()) std::abort();
    if (std::memcmp(a.data(), again.data(), 4 * n) != 0) std::abort();
  }
  return 0;
}
