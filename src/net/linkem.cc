#include "net/linkem.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <deque>
#include <list>
#include <vector>

#include "net/tcp.h"
#include "util/clock.h"

namespace tern::net {
namespace {

constexpr size_t kReadBytes = 64 << 10;

// One direction of the emulated link, shared by every connection.
struct Line {
  double ns_per_byte = 0;
  int64_t delay_ns = 0;
  int64_t free_at = 0;  // when the line finishes sending what it has
  size_t queued = 0;
  size_t cap = 0;
  std::atomic<uint64_t> forwarded{0};  // read by stats() from other threads
};

struct Packet {
  int64_t deliver_at = 0;
  std::vector<uint8_t> bytes;
  size_t sent = 0;
};

// One direction of one proxied connection.
struct Flow {
  int src = -1, dst = -1;
  Line* line = nullptr;
  std::deque<Packet> queue;
  bool src_eof = false;
  bool dst_shut = false;

  bool CanRead() const { return !src_eof && line->queued < line->cap; }
  bool Deliverable(int64_t now) const { return !queue.empty() && queue.front().deliver_at <= now; }
};

struct Pair {
  Fd client, upstream;
  bool connecting = true;
  bool dead = false;
  Flow fwd, rev;
};

// Reads one packet from the flow's source; false when the pair must die.
bool ReadInto(Flow& f, int64_t now) {
  Packet p;
  p.bytes.resize(kReadBytes);
  const ssize_t r = ::recv(f.src, p.bytes.data(), p.bytes.size(), MSG_DONTWAIT);
  if (r == 0) {
    f.src_eof = true;
    return true;
  }
  if (r < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  p.bytes.resize(static_cast<size_t>(r));
  Line& l = *f.line;
  const int64_t depart =
      std::max(now, l.free_at) + static_cast<int64_t>(std::llround(l.ns_per_byte * r));
  l.free_at = depart;
  l.queued += p.bytes.size();
  p.deliver_at = depart + l.delay_ns;
  f.queue.push_back(std::move(p));
  return true;
}

// Writes every packet that is due; false when the pair must die.
bool Deliver(Flow& f, int64_t now) {
  while (f.Deliverable(now)) {
    Packet& p = f.queue.front();
    const ssize_t w = ::send(f.dst, p.bytes.data() + p.sent, p.bytes.size() - p.sent,
                             MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    p.sent += static_cast<size_t>(w);
    f.line->forwarded.fetch_add(static_cast<uint64_t>(w), std::memory_order_relaxed);
    if (p.sent < p.bytes.size()) return true;
    f.line->queued -= p.bytes.size();
    f.queue.pop_front();
  }
  if (f.src_eof && f.queue.empty() && !f.dst_shut) {
    ::shutdown(f.dst, SHUT_WR);
    f.dst_shut = true;
  }
  return true;
}

}  // namespace

struct Linkem::Loop {
  std::unique_ptr<Listener> listener;
  std::string to;
  Line fwd, rev;
  std::list<Pair> pairs;
  std::atomic<uint64_t> connections{0};

  void Accept() {
    for (;;) {
      const int fd = ::accept4(listener->fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      auto addr = ParseAddress(to);
      if (!addr.ok()) {
        ::close(fd);
        continue;
      }
      Fd up(::socket(addr->family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      ConfigureStreamSocket(fd, "").IgnoreError();
      ConfigureStreamSocket(up.get(), "").IgnoreError();
      if (::connect(up.get(), addr->get(), addr->length) != 0 && errno != EINPROGRESS) {
        ::close(fd);
        continue;
      }
      Pair& p = pairs.emplace_back();
      p.client = Fd(fd);
      p.upstream = std::move(up);
      p.fwd.src = p.rev.dst = p.client.get();
      p.fwd.dst = p.rev.src = p.upstream.get();
      p.fwd.line = &fwd;
      p.rev.line = &rev;
      connections.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // Poll events for a pair's two sockets.
  static void Events(const Pair& p, int64_t now, short* client, short* upstream) {
    *client = static_cast<short>((p.fwd.CanRead() ? POLLIN : 0) |
                                 (p.rev.Deliverable(now) ? POLLOUT : 0));
    *upstream = p.connecting ? POLLOUT
                             : static_cast<short>((p.rev.CanRead() ? POLLIN : 0) |
                                                  (p.fwd.Deliverable(now) ? POLLOUT : 0));
  }

  int64_t NextDelivery() const {
    int64_t next = INT64_MAX;
    for (const Pair& p : pairs) {
      for (const Flow* f : {&p.fwd, &p.rev}) {
        if (!f->queue.empty()) next = std::min(next, f->queue.front().deliver_at);
      }
    }
    return next;
  }

  void Step(Pair& p, short client_rev, short up_rev, int64_t now) {
    if (p.connecting && up_rev) {
      int err = 0;
      socklen_t len = sizeof(err);
      ::getsockopt(p.upstream.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        p.dead = true;
        return;
      }
      p.connecting = false;
    }
    if (p.connecting) return;
    bool ok = true;
    if ((client_rev & (POLLIN | POLLHUP | POLLERR)) && p.fwd.CanRead()) ok &= ReadInto(p.fwd, now);
    if ((up_rev & (POLLIN | POLLHUP | POLLERR)) && p.rev.CanRead()) ok &= ReadInto(p.rev, now);
    ok = ok && Deliver(p.fwd, now) && Deliver(p.rev, now);
    const bool done = p.fwd.dst_shut && p.rev.dst_shut;
    if (!ok || done) p.dead = true;
  }

  void Reap() {
    for (auto it = pairs.begin(); it != pairs.end();) {
      if (!it->dead) {
        ++it;
        continue;
      }
      for (Flow* f : {&it->fwd, &it->rev}) {
        for (const Packet& pk : f->queue) f->line->queued -= pk.bytes.size();
      }
      it = pairs.erase(it);
    }
  }

  void Run(int wake_fd) {
    std::vector<pollfd> fds;
    for (;;) {
      int64_t now = NowNanos();
      fds.assign({{wake_fd, POLLIN, 0}, {listener->fd(), POLLIN, 0}});
      for (const Pair& p : pairs) {
        short c, u;
        Events(p, now, &c, &u);
        fds.push_back({p.client.get(), c, 0});
        fds.push_back({p.upstream.get(), u, 0});
      }
      const int64_t next = NextDelivery();
      timespec ts{0, 0};
      timespec* timeout = nullptr;
      if (next != INT64_MAX) {
        const int64_t wait = std::max<int64_t>(0, next - now);
        ts = {static_cast<time_t>(wait / 1000000000), static_cast<long>(wait % 1000000000)};
        timeout = &ts;
      }
      if (::ppoll(fds.data(), fds.size(), timeout, nullptr) < 0 && errno != EINTR) return;
      if (fds[0].revents) return;
      if (fds[1].revents) Accept();
      now = NowNanos();
      size_t i = 2;
      for (Pair& p : pairs) {
        if (i + 1 >= fds.size()) break;  // accepted during this round
        Step(p, fds[i].revents, fds[i + 1].revents, now);
        i += 2;
      }
      // Deliveries that came due without any socket event.
      for (Pair& p : pairs) {
        if (!p.dead && !p.connecting && !(Deliver(p.fwd, now) && Deliver(p.rev, now))) p.dead = true;
      }
      Reap();
    }
  }
};

Result<std::unique_ptr<Linkem>> Linkem::Start(const LinkemOptions& o) {
  if (o.delay_ms < 0 || o.rate_mbit < 0 || !std::isfinite(o.delay_ms) ||
      !std::isfinite(o.rate_mbit)) {
    return InvalidArgumentError("linkem: delay and rate must be finite and >= 0");
  }
  TERN_RETURN_IF_ERROR(ParseAddress(o.to).status());
  std::unique_ptr<Linkem> l(new Linkem());
  l->loop_ = std::make_unique<Loop>();
  TERN_ASSIGN_OR_RETURN(l->loop_->listener, Listener::Bind(o.listen));
  l->address_ = l->loop_->listener->address();
  l->loop_->to = o.to;
  const double bytes_per_ns = o.rate_mbit * 1e6 / 8 / 1e9;
  size_t cap = o.queue_bytes;
  if (cap == 0) {
    const double bdp = bytes_per_ns * o.delay_ms * 1e6;
    cap = std::max<size_t>(size_t{4} << 20, static_cast<size_t>(2 * bdp));
  }
  for (Line* line : {&l->loop_->fwd, &l->loop_->rev}) {
    line->ns_per_byte = o.rate_mbit > 0 ? 1.0 / bytes_per_ns : 0;
    line->delay_ns = static_cast<int64_t>(std::llround(o.delay_ms * 1e6));
    line->cap = cap;
  }
  l->wake_ = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!l->wake_.valid()) return SysError("eventfd", errno, "");
  Loop* loop = l->loop_.get();
  const int wake = l->wake_.get();
  l->thread_ = std::thread([loop, wake] { loop->Run(wake); });
  return l;
}

Linkem::~Linkem() { Stop(); }

void Linkem::Stop() {
  if (!thread_.joinable()) return;
  uint64_t one = 1;
  if (::write(wake_.get(), &one, 8) != 8) {
    // eventfd writes of 8 bytes cannot fail short; nothing else to do.
  }
  thread_.join();
}

LinkemStats Linkem::stats() const {
  LinkemStats s;
  s.connections = loop_->connections.load();
  s.bytes_forward = loop_->fwd.forwarded.load();
  s.bytes_reverse = loop_->rev.forwarded.load();
  return s;
}

}  // namespace tern::net
