#include "membership/control_client.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

#include "membership/codes.h"
#include "membership/frames.h"
#include "net/handshake.h"
#include "net/tcp.h"
#include "util/logging.h"

namespace tern::membership {
namespace {

int64_t NowMs() { return NowNanos() / 1000000; }

Status FromRefusal(const proto::Refused& r) {
  return StatusFromWire(r.code(), "the master refused this peer: " + r.message());
}

}  // namespace

ControlClient::ControlClient(ControlClientOptions options, ControlCallbacks callbacks)
    : options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      peer_id_(options_.peer_id),
      wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

ControlClient::~ControlClient() {
  Stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void ControlClient::Wake() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
}

Status ControlClient::Start(Deadline deadline) {
  Status s;
  for (;;) {
    s = ConnectOnce(deadline);
    if (s.ok()) break;
    if (s.code() == StatusCode::kPermissionDenied ||
        s.code() == StatusCode::kFailedPrecondition || deadline.Expired()) {
      return s;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(
        std::min(100, std::max(1, deadline.RemainingMillisForPoll()))));
  }
  thread_ = std::thread([this] { Run(); });
  return OkStatus();
}

void ControlClient::Stop() {
  stop_ = true;
  Wake();
  if (thread_.joinable()) thread_.join();
  if (conn_) conn_->Close();
}

void ControlClient::Send(const proto::PeerToMaster& m) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!connected_) return;
    outbox_.push_back(m.SerializeAsString());
  }
  Wake();
}

Status ControlClient::ConnectOnce(Deadline deadline) {
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<net::Conn> conn,
                        net::TcpConnect(options_.master_address, deadline));
  net::HandshakeParams params;
  params.channel = kMasterChannel;
  params.run_id = options_.run_id;
  params.self_peer = peer_id_.load();
  params.auth = options_.auth;
  Status hs = net::DialHandshake(conn, params, kMasterPeerId, 0, deadline);
  if (!hs.ok()) {
    // Without a secret we install no authenticator, so a master that wants
    // one shows up as an unexpected auth frame: say what it means.
    if (options_.auth == nullptr && hs.code() == StatusCode::kDataLoss &&
        hs.message().find("unexpected frame type 3") != std::string_view::npos) {
      return PermissionDeniedError("master " + options_.master_address +
                                   " requires the run secret and none was given");
    }
    return hs;
  }
  proto::PeerToMaster reg;
  *reg.mutable_register_() = callbacks_.make_register();
  reg.mutable_register_()->set_peer_id(peer_id_.load());
  TERN_RETURN_IF_ERROR(net::SendFrame(*conn, FrameCode(CpFrame::kPeerToMaster),
                                      reg.SerializeAsString(), deadline));
  TERN_ASSIGN_OR_RETURN(net::Frame f, net::RecvFrame(*conn, kMaxControlMessage, deadline));
  proto::MasterToPeer m;
  if (f.type != FrameCode(CpFrame::kMasterToPeer) || !m.ParseFromString(f.payload)) {
    return DataLossError("master " + options_.master_address + ": malformed answer to Register");
  }
  if (m.has_refused()) return FromRefusal(m.refused());
  if (!m.has_register_ack() || m.register_ack().peer_id() == 0) {
    return DataLossError("master " + options_.master_address + ": expected RegisterAck");
  }
  const proto::RegisterAck& ack = m.register_ack();
  {
    std::lock_guard<std::mutex> lock(mu_);
    peer_id_ = ack.peer_id();
    heartbeat_interval_ms_ = std::clamp<int64_t>(ack.heartbeat_interval_ms(), 10, 60000);
    heartbeat_timeout_ms_ =
        std::clamp<int64_t>(ack.heartbeat_timeout_ms(), 2 * heartbeat_interval_ms_, 600000);
    last_heard_ms_ = NowMs();
    outbox_.clear();
    conn_ = std::make_unique<FramedConn>(std::move(conn), kMaxControlMessage);
    connected_ = true;
  }
  ++epoch_;
  callbacks_.on_message(m);
  callbacks_.on_connection(true);
  return OkStatus();
}

void ControlClient::Run() {
  int64_t backoff_ms = 50;
  while (!stop_) {
    if (conn_ == nullptr) {
      pollfd p{wake_fd_, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(backoff_ms));
      if (stop_) break;
      Status s = ConnectOnce(Deadline::After(options_.connect_timeout));
      if (!s.ok()) {
        TERN_LOG(INFO) << "peer: reconnecting to master " << options_.master_address << ": " << s.ToString();
        backoff_ms = std::min<int64_t>(backoff_ms * 2, 1000);
        continue;
      }
      backoff_ms = 50;
    }
    Status s = Serve();
    TERN_LOG(INFO) << "peer: lost the master connection: " << s.ToString();
    {
      std::lock_guard<std::mutex> lock(mu_);
      connected_ = false;
      conn_->Close();
      conn_.reset();
    }
    callbacks_.on_connection(false);
  }
}

Status ControlClient::Serve() {
  int64_t next_heartbeat = NowMs();
  uint64_t seq = 0;
  while (!stop_) {
    const int64_t now = NowMs();
    int64_t silent_until;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const std::string& m : outbox_) conn_->Queue(FrameCode(CpFrame::kPeerToMaster), m);
      outbox_.clear();
      silent_until = last_heard_ms_ + heartbeat_timeout_ms_;
      if (now >= next_heartbeat) {
        proto::PeerToMaster hb;
        hb.mutable_heartbeat()->set_seq(++seq);
        conn_->Queue(FrameCode(CpFrame::kPeerToMaster), hb.SerializeAsString());
        next_heartbeat = now + heartbeat_interval_ms_;
      }
    }
    if (now >= silent_until) {
      return UnavailableError("master " + options_.master_address + " silent for " +
                              std::to_string(now - silent_until + heartbeat_timeout_ms_) + " ms");
    }
    // Frames that arrived before an error (a LeaveAck before the close)
    // are still delivered.
    Status pumped = conn_->Pump();
    while (std::optional<net::Frame> f = conn_->TakeFrame()) {
      TERN_RETURN_IF_ERROR(Dispatch(*f));
    }
    TERN_RETURN_IF_ERROR(pumped);
    if (conn_->WantsWrite()) TERN_RETURN_IF_ERROR(conn_->Flush());
    net::PollSpec spec = conn_->Poll();
    pollfd fds[2] = {{spec.fd, spec.events, 0}, {wake_fd_, POLLIN, 0}};
    const int64_t wait = std::max<int64_t>(0, std::min(next_heartbeat, silent_until) - NowMs());
    ::poll(fds, 2, static_cast<int>(wait) + 1);
    if (fds[1].revents) {
      uint64_t v;
      [[maybe_unused]] ssize_t n = ::read(wake_fd_, &v, sizeof(v));
    }
  }
  return CancelledError("stopped");
}

Status ControlClient::Dispatch(const net::Frame& f) {
  proto::MasterToPeer m;
  if (f.type != FrameCode(CpFrame::kMasterToPeer) || !m.ParseFromString(f.payload)) {
    return DataLossError("malformed message from the master");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_heard_ms_ = NowMs();
  }
  if (m.has_heartbeat_ack()) return OkStatus();
  if (m.has_ping()) {
    proto::PeerToMaster pong;
    pong.mutable_pong()->set_seq(m.ping().seq());
    std::lock_guard<std::mutex> lock(mu_);
    conn_->Queue(FrameCode(CpFrame::kPeerToMaster), pong.SerializeAsString());
    return OkStatus();
  }
  if (m.has_refused()) return FromRefusal(m.refused());
  callbacks_.on_message(m);
  return OkStatus();
}

}  // namespace tern::membership
