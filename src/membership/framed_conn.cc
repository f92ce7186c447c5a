#include "membership/framed_conn.h"

#include <sys/uio.h>

#include "wire/frame.h"

namespace tern::membership {
namespace {
constexpr size_t kReadBytes = 64 << 10;
// Stop reading while this many complete frames wait, so a flood cannot
// grow memory faster than the owner consumes it.
constexpr size_t kMaxQueuedFrames = 64;
}  // namespace

FramedConn::FramedConn(std::unique_ptr<net::Conn> conn, uint32_t max_frame)
    : conn_(std::move(conn)), max_frame_(max_frame) {}

void FramedConn::Queue(uint16_t type, std::string_view payload) {
  const size_t at = out_.size();
  out_.resize(at + wire::kFrameHeaderSize);
  out_.append(payload);
  auto* p = reinterpret_cast<uint8_t*>(out_.data() + at);
  wire::EncodeFrameHeader(type, true, {p + wire::kFrameHeaderSize, payload.size()}, {}, p);
}

Status FramedConn::Pump() {
  TERN_RETURN_IF_ERROR(WriteAvailable());
  TERN_RETURN_IF_ERROR(ReadAvailable());
  return WriteAvailable();
}

std::optional<net::Frame> FramedConn::TakeFrame() {
  if (frames_.empty()) return std::nullopt;
  net::Frame f = std::move(frames_.front());
  frames_.pop_front();
  return f;
}

Status FramedConn::WriteAvailable() {
  while (!out_.empty()) {
    iovec iov{out_.data(), out_.size()};
    TERN_ASSIGN_OR_RETURN(size_t n, conn_->WriteSome(&iov, 1));
    if (n == 0) break;
    out_.erase(0, n);
  }
  return OkStatus();
}

Status FramedConn::ReadAvailable() {
  char buf[kReadBytes];
  while (frames_.size() < kMaxQueuedFrames) {
    TERN_ASSIGN_OR_RETURN(size_t n, conn_->ReadSome(buf, sizeof(buf)));
    if (n == 0) break;
    in_.append(buf, n);
    TERN_RETURN_IF_ERROR(ParseBuffered());
  }
  return OkStatus();
}

Status FramedConn::ParseBuffered() {
  for (;;) {
    if (in_.size() < wire::kFrameHeaderSize) return OkStatus();
    const auto* h = reinterpret_cast<const uint8_t*>(in_.data());
    TERN_ASSIGN_OR_RETURN(wire::FrameHeader header, wire::DecodeFrameHeader(h, max_frame_));
    const size_t total = wire::kFrameHeaderSize + header.length;
    if (in_.size() < total) return OkStatus();
    std::span<const uint8_t> payload(h + wire::kFrameHeaderSize, header.length);
    TERN_RETURN_IF_ERROR(wire::VerifyFrame(h, header, payload, {}, /*require_checksum=*/true));
    net::Frame f;
    f.type = header.type;
    f.payload.assign(in_.data() + wire::kFrameHeaderSize, header.length);
    frames_.push_back(std::move(f));
    in_.erase(0, total);
  }
}

}  // namespace tern::membership
