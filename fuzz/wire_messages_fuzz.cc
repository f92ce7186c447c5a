// Decoders of the data plane's handshake and abort messages and of frame
// and data headers, on arbitrary bytes: never crash, never allocate beyond
// the bounds, and anything accepted re-encodes to an equal message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "wire/frame.h"
#include "wire/messages.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tern::wire;
  std::span<const uint8_t> in(data, size);
  if (auto h = DecodeHello(in); h.ok()) {
    std::string again;
    EncodeHello(*h, &again);
    auto h2 = DecodeHello(Bytes(again));
    Check(h2.ok() && h2->run_id == h->run_id && h2->auth == h->auth && h2->stream == h->stream);
  }
  if (auto a = DecodeHelloAck(in); a.ok()) {
    std::string again;
    EncodeHelloAck(*a, &again);
    auto a2 = DecodeHelloAck(Bytes(again));
    Check(a2.ok() && a2->result == a->result && a2->message == a->message);
  }
  if (auto ab = DecodeAbort(in); ab.ok()) {
    std::string again;
    EncodeAbort(*ab, &again);
    auto ab2 = DecodeAbort(Bytes(again));
    Check(ab2.ok() && ab2->code == ab->code && ab2->message == ab->message);
  }
  if (size >= kFrameHeaderSize) {
    if (auto fh = DecodeFrameHeader(data, 1 << 20); fh.ok()) {
      Check(fh->length <= (1u << 20));
      const size_t avail = size - kFrameHeaderSize;
      const size_t n = fh->length < avail ? fh->length : avail;
      VerifyFrame(data, *fh, {data + kFrameHeaderSize, n}, {}, true).IgnoreError();
    }
  }
  if (size >= kDataHeaderSize) {
    if (auto dh = DecodeDataHeader(data); dh.ok()) {
      uint8_t again[kDataHeaderSize];
      EncodeDataHeader(*dh, again);
      for (size_t i = 0; i < kDataHeaderSize; ++i) Check(again[i] == data[i]);
    }
  }
  return 0;
}
