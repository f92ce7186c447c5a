#include "net/handshake.h"

#include "net/blocking.h"

namespace tern::net {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

Status ExpectType(const Frame& f, wire::FrameType type, const std::string& peer) {
  if (f.type != static_cast<uint16_t>(type)) {
    return DataLossError("handshake with " + peer + ": unexpected frame type " +
                         std::to_string(f.type));
  }
  return OkStatus();
}

Status AckToStatus(const wire::HelloAck& ack, const std::string& peer) {
  const std::string why = "handshake with " + peer + " refused: " +
                          std::string(wire::HelloResultName(ack.result)) +
                          (ack.message.empty() ? "" : " (" + ack.message + ")");
  switch (ack.result) {
    case wire::HelloResult::kAccepted: return OkStatus();
    case wire::HelloResult::kRevisionMismatch: return UnavailableError(why);
    case wire::HelloResult::kAuthFailed: return PermissionDeniedError(why);
    default: return FailedPreconditionError(why);
  }
}

Status Refuse(Conn& conn, const HandshakeParams& p, wire::HelloResult result,
              const std::string& message, Deadline deadline) {
  wire::HelloAck ack;
  ack.result = result;
  ack.revision = p.revision;
  ack.peer_id = p.self_peer;
  ack.message = message;
  std::string payload;
  wire::EncodeHelloAck(ack, &payload);
  // Best effort: the dialer may already be gone.
  SendFrame(conn, wire::FrameType::kHelloAck, payload, deadline).IgnoreError();
  const std::string why = "refused handshake from " + conn.peer() + ": " +
                          std::string(wire::HelloResultName(result)) + " (" + message + ")";
  return result == wire::HelloResult::kAuthFailed ? PermissionDeniedError(why)
                                                  : FailedPreconditionError(why);
}

// The listener's own checks, before the caller's admit function.
wire::HelloResult Check(const wire::Hello& h, const HandshakeParams& p, std::string* why) {
  if (h.version != wire::kProtocolVersion) {
    *why = "version " + std::to_string(h.version);
    return wire::HelloResult::kVersionMismatch;
  }
  if (h.run_id != p.run_id || h.channel != p.channel) {
    *why = "run " + std::to_string(h.run_id) + " channel " + std::to_string(h.channel);
    return wire::HelloResult::kWrongRun;
  }
  if (h.to_peer != p.self_peer) {
    *why = "addressed to peer " + std::to_string(h.to_peer);
    return wire::HelloResult::kUnknownPeer;
  }
  if (h.revision != p.revision) {
    *why = "dialer at revision " + std::to_string(h.revision) + ", listener at " +
           std::to_string(p.revision);
    return wire::HelloResult::kRevisionMismatch;
  }
  if (h.stream_count != p.stream_count ||
      ((h.flags & wire::kHelloChecksums) != 0) != p.checksums) {
    *why = "streams or checksums differ";
    return wire::HelloResult::kOptionMismatch;
  }
  if (h.stream > h.stream_count) {
    *why = "stream " + std::to_string(h.stream);
    return wire::HelloResult::kBadStream;
  }
  return wire::HelloResult::kAccepted;
}

}  // namespace

Result<std::unique_ptr<Conn>> Authenticator::Secure(std::unique_ptr<Conn> conn, Role,
                                                    Deadline) const {
  return conn;
}

Status DialHandshake(std::unique_ptr<Conn>& conn, const HandshakeParams& p, uint64_t to_peer,
                     uint16_t stream, Deadline deadline) {
  if (p.auth != nullptr) {
    TERN_ASSIGN_OR_RETURN(conn, p.auth->Secure(std::move(conn), Authenticator::Role::kDialer,
                                               deadline));
  }
  wire::Hello hello;
  hello.channel = p.channel;
  hello.run_id = p.run_id;
  hello.revision = p.revision;
  hello.from_peer = p.self_peer;
  hello.to_peer = to_peer;
  hello.stream = stream;
  hello.stream_count = p.stream_count;
  hello.flags = p.checksums ? wire::kHelloChecksums : 0;
  std::string payload;
  wire::EncodeHello(hello, &payload);
  TERN_RETURN_IF_ERROR(SendFrame(*conn, wire::FrameType::kHello, payload, deadline));
  if (p.auth != nullptr) {
    TERN_RETURN_IF_ERROR(
        p.auth->Authenticate(*conn, Authenticator::Role::kDialer, hello, deadline));
  }
  TERN_ASSIGN_OR_RETURN(Frame f, RecvFrame(*conn, wire::kMaxControlFrame, deadline));
  TERN_RETURN_IF_ERROR(ExpectType(f, wire::FrameType::kHelloAck, conn->peer()));
  TERN_ASSIGN_OR_RETURN(wire::HelloAck ack, wire::DecodeHelloAck(Bytes(f.payload)));
  TERN_RETURN_IF_ERROR(AckToStatus(ack, conn->peer()));
  if (ack.peer_id != to_peer) {
    return FailedPreconditionError("handshake with " + conn->peer() + ": expected peer " +
                                   std::to_string(to_peer) + ", found peer " +
                                   std::to_string(ack.peer_id));
  }
  return OkStatus();
}

Result<wire::Hello> AnswerHandshake(std::unique_ptr<Conn>& conn, const HandshakeParams& p,
                                    const AdmitFn& admit, Deadline deadline) {
  if (p.auth != nullptr) {
    TERN_ASSIGN_OR_RETURN(conn, p.auth->Secure(std::move(conn), Authenticator::Role::kListener,
                                               deadline));
  }
  TERN_ASSIGN_OR_RETURN(Frame f, RecvFrame(*conn, wire::kMaxControlFrame, deadline));
  TERN_RETURN_IF_ERROR(ExpectType(f, wire::FrameType::kHello, conn->peer()));
  TERN_ASSIGN_OR_RETURN(wire::Hello hello, wire::DecodeHello(Bytes(f.payload)));
  std::string why;
  wire::HelloResult result = Check(hello, p, &why);
  if (result == wire::HelloResult::kAccepted && admit) {
    result = admit(hello);
    why = "not admitted by the listener";
  }
  if (result != wire::HelloResult::kAccepted) return Refuse(*conn, p, result, why, deadline);
  if (p.auth != nullptr) {
    Status s = p.auth->Authenticate(*conn, Authenticator::Role::kListener, hello, deadline);
    if (!s.ok()) {
      Refuse(*conn, p, wire::HelloResult::kAuthFailed, std::string(s.message()), deadline)
          .IgnoreError();
      return s;
    }
  }
  wire::HelloAck ack;
  ack.revision = p.revision;
  ack.peer_id = p.self_peer;
  std::string payload;
  wire::EncodeHelloAck(ack, &payload);
  TERN_RETURN_IF_ERROR(SendFrame(*conn, wire::FrameType::kHelloAck, payload, deadline));
  return hello;
}

}  // namespace tern::net
