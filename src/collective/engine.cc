#include "collective/engine.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "net/blocking.h"
#include "net/socket.h"
#include "util/bytes.h"
#include "util/crc32c.h"

namespace tern::collective {
namespace {

constexpr size_t kPrefix = wire::kFrameHeaderSize + wire::kDataHeaderSize;
constexpr int kMaxIov = 16;
// A write gathers frames whose checksum is still to compute only up to
// this many bytes, so they are still in cache when the kernel copies them.
constexpr size_t kLazyCrcGatherBytes = 512 << 10;
// How often a busy Run still checks the deadline and the world's revision.
// (Control streams are read only when no data moves: see Wait.)
constexpr int64_t kCheckEveryNs = 5'000'000;
constexpr int kPollSliceMs = 20;
// How long a failed stream's peer gets to deliver the Abort that explains
// it (it writes the Abort before closing, so normally it is already there;
// a dead peer's control stream closes at once). Short, because when a link
// breaks under two live peers each waits this long for the other's Abort.
constexpr int64_t kAbortGraceMs = 200;

std::span<const uint8_t> Span(const uint8_t* p, size_t n) { return {p, n}; }

}  // namespace

void Engine::Reset(int rank, std::vector<PeerConns> peers, bool checksums) {
  rank_ = rank;
  peers_ = std::move(peers);
  checksums_ = checksums;
  streams_ = 0;
  for (const PeerConns& p : peers_) streams_ = std::max(streams_, static_cast<int>(p.data.size()));
  streams_of_.assign(peers_.size() * static_cast<size_t>(streams_), Stream{});
  control_closed_.assign(peers_.size(), false);
  for (int p = 0; p < size(); ++p) {
    for (int s = 0; s < static_cast<int>(peers_[p].data.size()); ++s) {
      At(p, s).conn = peers_[p].data[s];
      At(p, s).peer = p;
    }
  }
}

void Engine::Begin(uint64_t seq, uint32_t signature, size_t max_payload, Deadline deadline,
                   Interrupt interrupt) {
  seq_ = seq;
  signature_ = signature;
  max_payload_ = max_payload;
  deadline_ = deadline;
  interrupt_ = std::move(interrupt);
  culprit_ = -1;
  rx_culprit_ = -1;
  pending_frames_ = 0;
  pending_sends_ = 0;
  for (Stream& s : streams_of_) {
    s.sends.clear();
    s.send_head = 0;
    s.expected = 0;
    s.can_read = s.can_write = true;
    s.prefix_got = 0;
    s.in_payload = false;
  }
}

void Engine::Expect(int peer, int stream, int frames) {
  At(peer, stream).expected += frames;
  pending_frames_ += frames;
}

void Engine::EncodePrefix(uint8_t phase, uint16_t step, uint32_t chunk, size_t bytes,
                          uint8_t* prefix) const {
  wire::EncodeDataHeader({seq_, signature_, phase, step, chunk}, prefix + wire::kFrameHeaderSize);
  wire::EncodeFrameHeaderPrefix(static_cast<uint16_t>(wire::FrameType::kData), checksums_,
                                static_cast<uint32_t>(bytes + wire::kDataHeaderSize), prefix);
}

std::optional<uint32_t> Engine::CrcSeed(uint8_t phase, uint16_t step, uint32_t chunk,
                                        size_t bytes) const {
  if (!checksums_) return std::nullopt;
  uint8_t prefix[kPrefix];
  EncodePrefix(phase, step, chunk, bytes, prefix);
  return wire::FrameCrcSeed(prefix, Span(prefix + wire::kFrameHeaderSize, wire::kDataHeaderSize));
}

void Engine::Send(int peer, int stream, uint8_t phase, uint16_t step, uint32_t chunk,
                  const void* data, size_t bytes, bool notify, std::optional<uint32_t> crc) {
  Stream& s = At(peer, stream);
  SendItem& item = s.sends.emplace_back();
  EncodePrefix(phase, step, chunk, bytes, item.prefix);
  item.data = static_cast<const uint8_t*>(data);
  item.bytes = bytes;
  item.done = 0;
  item.notify = notify;
  item.crc_pending = checksums_ && !crc.has_value();
  if (checksums_ && crc.has_value()) wire::SetFrameCrc(item.prefix, *crc);
  ++pending_sends_;
}

bool Engine::Done(const Handler& h) const {
  if (pending_frames_ > 0 || pending_sends_ > 0 || !h.Finished()) return false;
  for (const Stream& s : streams_of_) {
    if (s.prefix_got > 0 || s.in_payload) return false;
  }
  return true;
}

Result<bool> Engine::PumpSend(Stream& s, Handler& h) {
  bool progress = false;
  while (s.send_head < s.sends.size() && s.can_write) {
    iovec iov[kMaxIov];
    int n = 0;
    size_t gathered = 0;
    for (size_t i = s.send_head; i < s.sends.size() && n + 2 <= kMaxIov; ++i) {
      SendItem& it = s.sends[i];
      if (it.crc_pending) {
        if (n > 0 && gathered >= kLazyCrcGatherBytes) break;
        const uint32_t seed = wire::FrameCrcSeed(
            it.prefix, Span(it.prefix + wire::kFrameHeaderSize, wire::kDataHeaderSize));
        wire::SetFrameCrc(it.prefix, Crc32c(it.data, it.bytes, seed));
        it.crc_pending = false;
      }
      if (it.done < kPrefix) iov[n++] = {it.prefix + it.done, kPrefix - it.done};
      const size_t data_done = it.done > kPrefix ? it.done - kPrefix : 0;
      if (it.bytes > data_done) iov[n++] = {const_cast<uint8_t*>(it.data) + data_done, it.bytes - data_done};
      gathered += kPrefix + it.bytes - it.done;
    }
    Result<size_t> w = s.conn->WriteSome(iov, n);
    if (!w.ok()) return PeerFailed(s.peer, w.status());
    if (*w == 0) {
      s.can_write = false;
      break;
    }
    progress = true;
    bytes_sent_ += *w;
    size_t left = *w;
    while (left > 0) {
      SendItem& it = s.sends[s.send_head];
      const size_t take = std::min(left, kPrefix + it.bytes - it.done);
      it.done += take;
      left -= take;
      if (it.done < kPrefix + it.bytes) break;
      ++s.send_head;
      --pending_sends_;
      if (it.notify) {
        TERN_ASSIGN_OR_RETURN(wire::DataHeader dh,
                              wire::DecodeDataHeader(it.prefix + wire::kFrameHeaderSize));
        TERN_RETURN_IF_ERROR(h.Sent(s.peer, dh));  // may queue more sends
      }
    }
  }
  if (s.send_head == s.sends.size()) {
    s.sends.clear();
    s.send_head = 0;
  }
  return progress;
}

Status Engine::StartPayload(Stream& s, Handler& h) {
  TERN_ASSIGN_OR_RETURN(s.frame, wire::DecodeFrameHeader(
                                     s.prefix, static_cast<uint32_t>(max_payload_ + wire::kDataHeaderSize)));
  if (s.frame.type != static_cast<uint16_t>(wire::FrameType::kData) ||
      s.frame.length < wire::kDataHeaderSize) {
    return DataLossError("unexpected frame type " + std::to_string(s.frame.type) +
                         " on a data stream");
  }
  TERN_ASSIGN_OR_RETURN(s.header, wire::DecodeDataHeader(s.prefix + wire::kFrameHeaderSize));
  if (s.header.seq != seq_ || s.header.signature != signature_) {
    return InvalidArgumentError(
        "rank " + std::to_string(s.peer) + " is in another operation (seq " +
        std::to_string(s.header.seq) + ", signature " + std::to_string(s.header.signature) +
        "; this rank: seq " + std::to_string(seq_) + ", signature " + std::to_string(signature_) +
        "): ranks must issue the same collectives in the same order");
  }
  s.payload = s.frame.length - wire::kDataHeaderSize;
  s.payload_got = 0;
  s.check_crc = !(s.frame.flags & wire::kFlagNoChecksum);
  s.crc = s.check_crc ? wire::FrameCrcSeed(s.prefix, Span(s.prefix + wire::kFrameHeaderSize,
                                                            wire::kDataHeaderSize))
                      : 0;
  TERN_ASSIGN_OR_RETURN(s.dest, h.Place(s.peer, s.header, s.payload));
  s.in_payload = true;
  return OkStatus();
}

Status Engine::FinishFrame(Stream& s, Handler& h, Receiver* rx) {
  TERN_RETURN_IF_ERROR(wire::VerifyFrameCrc(s.frame, s.crc, checksums_));
  s.in_payload = false;
  s.prefix_got = 0;
  --s.expected;
  --pending_frames_;
  if (rx != nullptr) return ReceiverPush(*rx, s.peer, s.header, s.dest, s.payload);
  return h.Received(s.peer, s.header, s.dest, s.payload);
}

Result<bool> Engine::PumpRecv(Stream& s, Handler& h, Receiver* rx) {
  bool progress = false;
  while (s.can_read && (s.expected > 0)) {
    uint8_t* buf = s.in_payload ? s.dest + s.payload_got : s.prefix + s.prefix_got;
    const size_t want = s.in_payload ? s.payload - s.payload_got : kPrefix - s.prefix_got;
    size_t got = 0;
    if (want > 0) {
      Result<size_t> r = s.conn->ReadSome(buf, want);
      if (!r.ok()) {
        // The receive thread leaves the control stream (and culprit_) to
        // the main thread.
        if (rx != nullptr) {
          rx_culprit_ = s.peer;
          return r.status();
        }
        return PeerFailed(s.peer, r.status());
      }
      if (*r == 0) {
        s.can_read = false;
        break;
      }
      got = *r;
      progress = true;
      bytes_received_ += got;
    }
    Status st;
    if (!s.in_payload) {
      s.prefix_got += got;
      if (s.prefix_got < kPrefix) continue;
      st = StartPayload(s, h);
      if (st.ok() && s.payload == 0) st = FinishFrame(s, h, rx);
    } else {
      if (s.check_crc) s.crc = Crc32c(buf, got, s.crc);
      s.payload_got += got;
      if (s.payload_got == s.payload) st = FinishFrame(s, h, rx);
    }
    if (!st.ok()) {
      (rx != nullptr ? rx_culprit_ : culprit_) = s.peer;
      return st;
    }
  }
  return progress;
}

Status Engine::PeerFailed(int peer, Status cause, const net::Frame* frame) {
  culprit_ = peer;
  net::Conn* control = peers_[peer].control;
  if (control == nullptr) return cause;
  Result<net::Frame> f = frame != nullptr ? Result<net::Frame>(*frame) : InternalError("unread");
  if (frame == nullptr && !control_closed_[peer]) {
    f = net::RecvFrame(*control, wire::kMaxControlFrame,
                       deadline_.Min(Deadline::AfterMillis(kAbortGraceMs)));
  }
  if (!f.ok() || f->type != static_cast<uint16_t>(wire::FrameType::kAbort)) return cause;
  auto bytes = Span(reinterpret_cast<const uint8_t*>(f->payload.data()), f->payload.size());
  Result<wire::Abort> a = wire::DecodeAbort(bytes);
  if (!a.ok()) return cause;
  culprit_ = -1;
  for (int r = 0; r < size(); ++r) {
    if (a->culprit != 0 && peers_[r].peer_id == a->culprit) culprit_ = r;
  }
  return Status(static_cast<StatusCode>(a->code),
                "rank " + std::to_string(peer) + " aborted the operation: " + a->message);
}

Status Engine::ControlReadable(int p) {
  net::Conn* control = peers_[p].control;
  Result<net::Frame> f = net::RecvFrame(*control, wire::kMaxControlFrame,
                                        deadline_.Min(Deadline::AfterMillis(kAbortGraceMs)));
  if (!f.ok()) {
    control_closed_[p] = true;
    return OkStatus();
  }
  return PeerFailed(p, DataLossError("unexpected frame on the control stream of rank " +
                                     std::to_string(p)), &*f);
}

Status Engine::Wait(Handler&) {
  pollfds_.clear();
  poll_streams_.clear();
  for (size_t i = 0; i < streams_of_.size(); ++i) {
    Stream& s = streams_of_[i];
    const bool want_write = s.send_head < s.sends.size() && !s.can_write;
    const bool want_read = s.expected > 0 && !s.can_read;
    if (!want_write && !want_read) continue;
    net::PollSpec spec = s.conn->Poll(want_read, want_write);
    pollfds_.push_back({spec.fd, spec.events, 0});
    poll_streams_.push_back(static_cast<int>(i));
  }
  const size_t nstreams = pollfds_.size();
  for (int p = 0; p < size(); ++p) {
    if (peers_[p].control == nullptr || control_closed_[p]) continue;
    net::PollSpec spec = peers_[p].control->Poll(true, false);
    pollfds_.push_back({spec.fd, spec.events, 0});
    poll_streams_.push_back(-1 - p);
  }
  const int timeout = std::min(kPollSliceMs, std::max(0, deadline_.RemainingMillisForPoll()));
  const int rc = ::poll(pollfds_.data(), pollfds_.size(), deadline_.IsInfinite() ? kPollSliceMs : timeout);
  if (rc < 0 && errno != EINTR) return net::SysError("poll", errno, "");
  bool data_ready = false;
  for (size_t i = 0; rc > 0 && i < nstreams; ++i) data_ready |= pollfds_[i].revents != 0;
  for (size_t i = 0; rc > 0 && i < pollfds_.size(); ++i) {
    const short ev = pollfds_[i].revents;
    if (ev == 0) continue;
    if (i >= nstreams) {
      // Data first: a peer that is already ahead may abort its next
      // operation while the frames that finish ours wait in the sockets.
      if (!data_ready) TERN_RETURN_IF_ERROR(ControlReadable(-1 - poll_streams_[i]));
      continue;
    }
    Stream& s = streams_of_[static_cast<size_t>(poll_streams_[i])];
    // A fake Conn polls an eventfd for POLLIN whatever it waits for: any
    // wake-up then means "try again".
    const short asked = pollfds_[i].events;
    const bool err = ev & (POLLERR | POLLHUP | POLLNVAL);
    if (ev & POLLIN || err || !(asked & POLLIN)) s.can_read = true;
    if (ev & POLLOUT || err || !(asked & POLLOUT)) s.can_write = true;
  }
  return OkStatus();
}

Status Engine::Checks() {
  if (interrupt_) TERN_RETURN_IF_ERROR(interrupt_());
  if (!deadline_.Expired()) return OkStatus();
  return DeadlineExceededError("collective did not finish before its deadline");
}

Status Engine::BlameLaggard(Status st) {
  if (st.code() != StatusCode::kDeadlineExceeded || culprit_ >= 0) return st;
  for (const Stream& s : streams_of_) {
    if (s.expected > 0 || s.send_head < s.sends.size()) {
      culprit_ = s.peer;
      return st.WithContext("waiting on rank " + std::to_string(s.peer));
    }
  }
  return st;
}

Status Engine::Run(Handler& h) {
  if (threaded_ && pending_frames_ > 0) return RunThreaded(h);
  last_check_ns_ = NowNanos();
  for (;;) {
    bool progress = false;
    for (Stream& s : streams_of_) {
      if (s.conn == nullptr) continue;
      if (s.send_head < s.sends.size() && s.can_write) {
        TERN_ASSIGN_OR_RETURN(bool p, PumpSend(s, h));
        progress |= p;
      }
      if (s.expected > 0 && s.can_read) {
        TERN_ASSIGN_OR_RETURN(bool p, PumpRecv(s, h));
        progress |= p;
      }
    }
    if (Done(h)) return OkStatus();
    if (!progress) {
      TERN_ASSIGN_OR_RETURN(bool worked, h.Idle());
      if (!worked) TERN_RETURN_IF_ERROR(Wait(h));
    }
    const int64_t now = NowNanos();
    if (now - last_check_ns_ < kCheckEveryNs && progress) continue;
    last_check_ns_ = now;
    TERN_RETURN_IF_ERROR(BlameLaggard(Checks()));
  }
}

void Engine::AbortAll(const Status& status, uint64_t culprit_peer) {
  wire::Abort a;
  a.code = static_cast<uint16_t>(status.code());
  a.culprit = culprit_peer;
  a.message = std::string(status.message());
  std::string payload;
  wire::EncodeAbort(a, &payload);
  std::string frame(wire::kFrameHeaderSize, '\0');
  frame += payload;
  auto* f = reinterpret_cast<uint8_t*>(frame.data());
  wire::EncodeFrameHeader(static_cast<uint16_t>(wire::FrameType::kAbort), true,
                          Span(f + wire::kFrameHeaderSize, payload.size()), {}, f);
  for (PeerConns& p : peers_) {
    if (p.control == nullptr) continue;
    iovec iov{f, frame.size()};
    // The control stream carries nothing else, so its buffer is empty and
    // this small frame goes out whole; if not, the close still tells.
    p.control->WriteSome(&iov, 1).status().IgnoreError();
  }
  for (PeerConns& p : peers_) {
    for (net::Conn* c : p.data) c->Close();
  }
  for (PeerConns& p : peers_) {
    if (p.control != nullptr) p.control->Close();
  }
}

}  // namespace tern::collective
