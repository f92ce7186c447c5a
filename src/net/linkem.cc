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
// How long Stop() may wait for bytes in flight: until the last one is due,
// plus this slack, and never more than the maximum.
constexpr int64_t kDrainSlackNs = 100'000'000;
constexpr int64_t kMaxDrainNs = 5'000'000'000;

// One direction of the emulated link, shared by every connection.
struct Line {
  double ns_per_byte = 0;
  int64_t delay_ns = 0;
  int64_t free_at = 0;  // when the line finishes sending what it has
  size_t cap = 0;
  std::atomic<uint64_t> forwarded{0};  // read by stats() from other threads

  // Bytes of all connections still waiting to leave at the rate cap.
  size_t Backlog(int64_t now) const {
    if (ns_per_byte <= 0 || free_at <= now) return 0;
    return static_cast<size_t>(static_cast<double>(free_at - now) / ns_per_byte);
  }
};

struct Packet {
  int64_t deliver_at = 0;
  std::vector<uint8_t> bytes;
  size_t sent = 0;
};

// One direction of one proxied connection. The two directions close
// independently, as TCP's do: when a source ends (EOF, or a reset) its
// queued bytes are still delivered, then the destination gets a FIN; when
// a destination refuses bytes (it closed or reset), only this direction's
// queue is lost, and its source is read and discarded until it ends.
struct Flow {
  int src = -1, dst = -1;
  Line* line = nullptr;
  std::deque<Packet> queue;
  size_t queued = 0;        // bytes held for dst
  bool src_eof = false;     // nothing more to read from src
  bool dst_shut = false;    // everything delivered and dst shut for writing
  bool dst_failed = false;  // dst takes no more bytes

  // Each connection holds at most `cap` bytes (its receiver's window) and
  // the line's shared backlog stays below `cap` (the link's buffer). A cap
  // on everything held for all connections together would let one slow
  // receiver stall every other connection of that direction.
  bool CanRead(int64_t now) const {
    return !src_eof && (dst_failed || (queued < line->cap && line->Backlog(now) < line->cap));
  }
  bool Deliverable(int64_t now) const { return !queue.empty() && queue.front().deliver_at <= now; }
  bool WriteDone() const { return dst_shut || dst_failed; }
  bool Finished() const { return src_eof && WriteDone(); }

  void Fail() {
    queue.clear();
    queued = 0;
    dst_failed = true;
  }
};

struct Pair {
  Fd client, upstream;
  bool connecting = true;
  bool dead = false;
  Flow fwd, rev;
};

// Reads one packet from the flow's source (discarded if its destination
// failed). End of stream and errors both end the source.
void ReadInto(Flow& f, int64_t now) {
  Packet p;
  p.bytes.resize(kReadBytes);
  const ssize_t r = ::recv(f.src, p.bytes.data(), p.bytes.size(), MSG_DONTWAIT);
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  if (r <= 0) {
    f.src_eof = true;
    return;
  }
  if (f.dst_failed) return;
  p.bytes.resize(static_cast<size_t>(r));
  Line& l = *f.line;
  const int64_t depart =
      std::max(now, l.free_at) + static_cast<int64_t>(std::llround(l.ns_per_byte * r));
  l.free_at = depart;
  f.queued += p.bytes.size();
  p.deliver_at = depart + l.delay_ns;
  f.queue.push_back(std::move(p));
}

// Writes every packet that is due; shuts dst for writing once the source
// ended and everything went out.
void Deliver(Flow& f, int64_t now) {
  while (f.Deliverable(now)) {
    Packet& p = f.queue.front();
    const ssize_t w = ::send(f.dst, p.bytes.data() + p.sent, p.bytes.size() - p.sent,
                             MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) f.Fail();
      return;
    }
    p.sent += static_cast<size_t>(w);
    f.line->forwarded.fetch_add(static_cast<uint64_t>(w), std::memory_order_relaxed);
    if (p.sent < p.bytes.size()) return;
    f.queued -= p.bytes.size();
    f.queue.pop_front();
  }
  if (f.src_eof && f.queue.empty() && !f.WriteDone()) {
    ::shutdown(f.dst, SHUT_WR);
    f.dst_shut = true;
  }
}

}  // namespace

struct Linkem::Loop {
  std::unique_ptr<Listener> listener;
  std::string to;
  Line fwd, rev;
  std::list<Pair> pairs;
  std::atomic<uint64_t> connections{0};
  bool stopping = false;
  int64_t drain_until = 0;

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

  // Poll entries for a pair's two sockets. A socket neither read nor
  // written any more is left out (fd -1): a closed socket reports POLLHUP
  // whatever it is asked, which would spin the loop until the pair ends.
  static void Events(const Pair& p, int64_t now, pollfd* client, pollfd* upstream) {
    *client = {p.fwd.src_eof && p.rev.WriteDone() ? -1 : p.client.get(),
               static_cast<short>((p.fwd.CanRead(now) ? POLLIN : 0) |
                                  (p.rev.Deliverable(now) ? POLLOUT : 0)),
               0};
    *upstream = {p.rev.src_eof && p.fwd.WriteDone() ? -1 : p.upstream.get(),
                 p.connecting ? static_cast<short>(POLLOUT)
                              : static_cast<short>((p.rev.CanRead(now) ? POLLIN : 0) |
                                                   (p.fwd.Deliverable(now) ? POLLOUT : 0)),
                 0};
  }

  // When the loop must wake without a socket event: a packet comes due, or
  // the line's backlog drains below its cap so a flow may read again. A
  // packet already due waits for POLLOUT instead (a receiver that stopped
  // reading must not make the loop spin).
  int64_t NextWake(int64_t now) const {
    int64_t next = INT64_MAX;
    for (const Pair& p : pairs) {
      for (const Flow* f : {&p.fwd, &p.rev}) {
        if (!f->queue.empty() && !f->Deliverable(now)) {
          next = std::min(next, f->queue.front().deliver_at);
        }
        const Line& l = *f->line;
        if (!f->src_eof && !f->dst_failed && f->queued < l.cap && l.Backlog(now) >= l.cap) {
          const auto cap_ns = static_cast<int64_t>(static_cast<double>(l.cap) * l.ns_per_byte);
          next = std::min(next, std::max(now, l.free_at - cap_ns) + 1);
        }
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
    constexpr short kReadable = POLLIN | POLLHUP | POLLERR;
    if ((client_rev & kReadable) && p.fwd.CanRead(now)) ReadInto(p.fwd, now);
    if ((up_rev & kReadable) && p.rev.CanRead(now)) ReadInto(p.rev, now);
    // A socket in error, or closed both ways, after its reads ended takes
    // no more bytes either.
    constexpr short kGone = POLLHUP | POLLERR;
    if ((client_rev & kGone) && p.fwd.src_eof && !p.rev.WriteDone()) p.rev.Fail();
    if ((up_rev & kGone) && p.rev.src_eof && !p.fwd.WriteDone()) p.fwd.Fail();
    Deliver(p.fwd, now);
    Deliver(p.rev, now);
    if (p.fwd.Finished() && p.rev.Finished()) p.dead = true;
  }

  void Reap() {
    for (auto it = pairs.begin(); it != pairs.end();) {
      if (!it->dead) {
        ++it;
        continue;
      }
      it = pairs.erase(it);
    }
  }

  // Stop(): no new connections and no more reads, but what is already in
  // flight is still delivered (an endpoint that leaves does not take the
  // bytes on the wire with it), then every destination gets a FIN. Bounded,
  // in case a destination stops reading.
  void BeginStop(int64_t now) {
    stopping = true;
    int64_t last = now;
    for (const Line* l : {&fwd, &rev}) last = std::max(last, l->free_at + l->delay_ns);
    drain_until = std::min(last + kDrainSlackNs, now + kMaxDrainNs);
    for (Pair& p : pairs) {
      if (p.connecting) p.dead = true;
      p.fwd.src_eof = p.rev.src_eof = true;
    }
  }

  void Run(int wake_fd) {
    std::vector<pollfd> fds;
    for (;;) {
      int64_t now = NowNanos();
      if (stopping && (pairs.empty() || now >= drain_until)) return;
      fds.assign({{stopping ? -1 : wake_fd, POLLIN, 0},
                  {stopping ? -1 : listener->fd(), POLLIN, 0}});
      for (const Pair& p : pairs) {
        pollfd c, u;
        Events(p, now, &c, &u);
        fds.push_back(c);
        fds.push_back(u);
      }
      const int64_t next = stopping ? std::min(NextWake(now), drain_until) : NextWake(now);
      timespec ts{0, 0};
      timespec* timeout = nullptr;
      if (next != INT64_MAX) {
        const int64_t wait = std::max<int64_t>(0, next - now);
        ts = {static_cast<time_t>(wait / 1000000000), static_cast<long>(wait % 1000000000)};
        timeout = &ts;
      }
      if (::ppoll(fds.data(), fds.size(), timeout, nullptr) < 0 && errno != EINTR) return;
      now = NowNanos();
      if (fds[0].revents) BeginStop(now);
      if (fds[1].revents) Accept();
      size_t i = 2;
      for (Pair& p : pairs) {
        if (i + 1 >= fds.size()) break;  // accepted during this round
        Step(p, fds[i].revents, fds[i + 1].revents, now);
        i += 2;
      }
      // Deliveries that came due without any socket event.
      for (Pair& p : pairs) {
        if (p.dead || p.connecting) continue;
        Deliver(p.fwd, now);
        Deliver(p.rev, now);
        if (p.fwd.Finished() && p.rev.Finished()) p.dead = true;
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
