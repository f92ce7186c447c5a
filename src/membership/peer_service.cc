#include "membership/peer_service.h"

#include <sys/socket.h>

#include "membership/frames.h"
#include "membership/proto/state.pb.h"
#include "util/logging.h"

namespace tern::membership {
namespace {
constexpr int kMaxConnections = 32;
constexpr int64_t kAcceptSliceMillis = 100;
// A probe or fetch connection that stalls this long is cut.
constexpr int64_t kIdleMillis = 30000;
}  // namespace

PeerService::PeerService(std::unique_ptr<net::Listener> listener, uint64_t run_id,
                         const net::Authenticator* auth, std::function<WorldView()> view)
    : listener_(std::move(listener)), run_id_(run_id), auth_(auth), view_(std::move(view)) {
  accept_ = std::thread([this] { AcceptLoop(); });
}

PeerService::~PeerService() {
  stop_ = true;
  ::shutdown(listener_->fd(), SHUT_RDWR);  // wakes the accept loop now
  if (accept_.joinable()) accept_.join();
  std::unique_lock<std::mutex> lock(mu_);
  for (net::Conn* c : active_) c->Close();
  cv_.wait(lock, [&] { return threads_ == 0; });
}

void PeerService::SetFetchHandler(FetchHandler handler) {
  std::lock_guard<std::mutex> lock(mu_);
  fetch_ = std::move(handler);
}

void PeerService::AcceptLoop() {
  while (!stop_) {
    Result<std::unique_ptr<net::Conn>> conn =
        listener_->Accept(Deadline::AfterMillis(kAcceptSliceMillis));
    if (!conn.ok()) continue;
    std::unique_lock<std::mutex> lock(mu_);
    if (threads_ >= kMaxConnections || stop_) {
      (*conn)->Close();
      continue;
    }
    ++threads_;
    active_.insert(conn->get());
    lock.unlock();
    std::thread([this, c = std::move(*conn)]() mutable { Serve(std::move(c)); }).detach();
  }
}

void PeerService::Serve(std::unique_ptr<net::Conn> conn) {
  net::Conn* tracked = conn.get();
  const WorldView view = view_();
  net::HandshakeParams params;
  params.channel = kStateChannel;
  params.run_id = run_id_;
  params.revision = view.revision;
  params.self_peer = view.rank >= 0 ? view.self().peer_id : 0;
  params.auth = auth_;
  auto admit = [&view](const wire::Hello& h) {
    return view.RankOf(h.from_peer) >= 0 ? wire::HelloResult::kAccepted
                                         : wire::HelloResult::kUnknownPeer;
  };
  Result<wire::Hello> hello =
      net::AnswerHandshake(conn, params, admit, Deadline::AfterMillis(kHandshakeMillis));
  if (hello.ok()) {
    {
      // The handshake may have replaced the connection (TLS): track the new one.
      std::lock_guard<std::mutex> lock(mu_);
      active_.erase(tracked);
      tracked = conn.get();
      active_.insert(tracked);
    }
    Result<net::Frame> first = net::RecvFrame(*conn, kMaxDataFrame, Deadline::AfterMillis(kIdleMillis));
    if (first.ok() && first->type == FrameCode(CpFrame::kFetchRequest)) {
      FetchHandler handler;
      {
        std::lock_guard<std::mutex> lock(mu_);
        handler = fetch_;
      }
      if (handler) handler(*conn, *first, hello->from_peer);
    } else if (first.ok() && first->type == FrameCode(CpFrame::kProbeData)) {
      ServeProbe(*conn, std::move(*first));
    }
  } else {
    TERN_LOG(INFO) << "state service: refused " << conn->peer() << ": " << hello.status().ToString();
  }
  conn->Close();
  std::lock_guard<std::mutex> lock(mu_);
  active_.erase(tracked);
  --threads_;
  cv_.notify_all();
}

// Probe: data frames until an empty kProbeAck frame, then our ProbeAck.
void PeerService::ServeProbe(net::Conn& conn, net::Frame first) {
  uint64_t bytes = first.payload.size();
  for (;;) {
    Result<net::Frame> f = net::RecvFrame(conn, kMaxDataFrame, Deadline::AfterMillis(kIdleMillis));
    if (!f.ok()) return;
    if (f->type == FrameCode(CpFrame::kProbeAck)) break;
    if (f->type != FrameCode(CpFrame::kProbeData)) return;
    bytes += f->payload.size();
  }
  proto::ProbeAck ack;
  ack.set_bytes(bytes);
  net::SendFrame(conn, FrameCode(CpFrame::kProbeAck), ack.SerializeAsString(),
                 Deadline::AfterMillis(kIdleMillis))
      .IgnoreError();
}

}  // namespace tern::membership
