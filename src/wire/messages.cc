#include "wire/messages.h"

#include "util/bytes.h"

namespace tern::wire {
namespace {

Status CheckMagic(ByteReader& r) {
  TERN_ASSIGN_OR_RETURN(uint32_t magic, r.U32());
  if (magic != kMagic) return DataLossError("bad magic: not a tern connection");
  return OkStatus();
}

Status CheckEnd(const ByteReader& r, const char* what) {
  if (r.remaining() != 0) {
    return DataLossError(std::string(what) + " has " + std::to_string(r.remaining()) +
                         " trailing bytes");
  }
  return OkStatus();
}

std::string_view Cut(std::string_view s, size_t max) { return s.substr(0, max); }

}  // namespace

std::string_view HelloResultName(HelloResult r) {
  switch (r) {
    case HelloResult::kAccepted: return "accepted";
    case HelloResult::kWrongRun: return "wrong run id";
    case HelloResult::kRevisionMismatch: return "revision mismatch";
    case HelloResult::kUnknownPeer: return "unknown peer";
    case HelloResult::kBadStream: return "bad stream";
    case HelloResult::kOptionMismatch: return "option mismatch";
    case HelloResult::kAuthFailed: return "authentication failed";
    case HelloResult::kVersionMismatch: return "protocol version mismatch";
  }
  return "unknown result";
}

void EncodeHello(const Hello& m, std::string* out) {
  ByteWriter w(out);
  w.U32(kMagic);
  w.U16(m.version);
  w.U16(m.channel);
  w.U64(m.run_id);
  w.U64(m.revision);
  w.U64(m.from_peer);
  w.U64(m.to_peer);
  w.U16(m.stream);
  w.U16(m.stream_count);
  w.U32(m.flags);
  w.LengthPrefixed(Cut(m.auth, kMaxAuthBytes));
}

Result<Hello> DecodeHello(std::span<const uint8_t> in) {
  ByteReader r(in);
  Hello m;
  TERN_RETURN_IF_ERROR(CheckMagic(r));
  TERN_ASSIGN_OR_RETURN(m.version, r.U16());
  TERN_ASSIGN_OR_RETURN(m.channel, r.U16());
  TERN_ASSIGN_OR_RETURN(m.run_id, r.U64());
  TERN_ASSIGN_OR_RETURN(m.revision, r.U64());
  TERN_ASSIGN_OR_RETURN(m.from_peer, r.U64());
  TERN_ASSIGN_OR_RETURN(m.to_peer, r.U64());
  TERN_ASSIGN_OR_RETURN(m.stream, r.U16());
  TERN_ASSIGN_OR_RETURN(m.stream_count, r.U16());
  TERN_ASSIGN_OR_RETURN(m.flags, r.U32());
  TERN_ASSIGN_OR_RETURN(std::string_view auth, r.LengthPrefixed(kMaxAuthBytes));
  m.auth = std::string(auth);
  TERN_RETURN_IF_ERROR(CheckEnd(r, "hello"));
  return m;
}

void EncodeHelloAck(const HelloAck& m, std::string* out) {
  ByteWriter w(out);
  w.U32(kMagic);
  w.U16(m.version);
  w.U16(static_cast<uint16_t>(m.result));
  w.U64(m.revision);
  w.U64(m.peer_id);
  w.LengthPrefixed(Cut(m.auth, kMaxAuthBytes));
  w.LengthPrefixed(Cut(m.message, kMaxMessageBytes));
}

Result<HelloAck> DecodeHelloAck(std::span<const uint8_t> in) {
  ByteReader r(in);
  HelloAck m;
  TERN_RETURN_IF_ERROR(CheckMagic(r));
  TERN_ASSIGN_OR_RETURN(m.version, r.U16());
  TERN_ASSIGN_OR_RETURN(uint16_t result, r.U16());
  if (result > static_cast<uint16_t>(HelloResult::kVersionMismatch)) {
    return DataLossError("hello ack has unknown result " + std::to_string(result));
  }
  m.result = static_cast<HelloResult>(result);
  TERN_ASSIGN_OR_RETURN(m.revision, r.U64());
  TERN_ASSIGN_OR_RETURN(m.peer_id, r.U64());
  TERN_ASSIGN_OR_RETURN(std::string_view auth, r.LengthPrefixed(kMaxAuthBytes));
  TERN_ASSIGN_OR_RETURN(std::string_view message, r.LengthPrefixed(kMaxMessageBytes));
  m.auth = std::string(auth);
  m.message = std::string(message);
  TERN_RETURN_IF_ERROR(CheckEnd(r, "hello ack"));
  return m;
}

void EncodeAbort(const Abort& m, std::string* out) {
  ByteWriter w(out);
  w.U16(m.code);
  w.U64(m.culprit);
  w.LengthPrefixed(Cut(m.message, kMaxMessageBytes));
}

Result<Abort> DecodeAbort(std::span<const uint8_t> in) {
  ByteReader r(in);
  Abort m;
  TERN_ASSIGN_OR_RETURN(m.code, r.U16());
  if (m.code == 0 || m.code > static_cast<uint16_t>(StatusCode::kDataLoss)) {
    return DataLossError("abort carries invalid status code " + std::to_string(m.code));
  }
  TERN_ASSIGN_OR_RETURN(m.culprit, r.U64());
  TERN_ASSIGN_OR_RETURN(std::string_view message, r.LengthPrefixed(kMaxMessageBytes));
  m.message = std::string(message);
  TERN_RETURN_IF_ERROR(CheckEnd(r, "abort"));
  return m;
}

void EncodeDataHeader(const DataHeader& h, uint8_t* out) {
  StoreLE64(out, h.seq);
  StoreLE32(out + 8, h.signature);
  out[12] = h.phase;
  out[13] = 0;
  out[14] = static_cast<uint8_t>(h.step);
  out[15] = static_cast<uint8_t>(h.step >> 8);
  StoreLE32(out + 16, h.chunk);
  StoreLE32(out + 20, 0);
}

Result<DataHeader> DecodeDataHeader(const uint8_t* in) {
  DataHeader h;
  h.seq = LoadLE64(in);
  h.signature = LoadLE32(in + 8);
  h.phase = in[12];
  h.step = static_cast<uint16_t>(in[14] | (in[15] << 8));
  h.chunk = LoadLE32(in + 16);
  if (in[13] != 0 || LoadLE32(in + 20) != 0) {
    return DataLossError("data header has nonzero reserved bytes");
  }
  return h;
}

}  // namespace tern::wire
