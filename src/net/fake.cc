#include "net/fake.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <vector>

#include "util/check.h"

namespace tern::net {
namespace {

// A bounded byte ring: one direction of the pair.
struct Ring {
  std::vector<uint8_t> buf;
  size_t head = 0, size = 0;
  size_t space() const { return buf.size() - size; }
  size_t Put(const uint8_t* p, size_t n) {
    n = std::min(n, space());
    const size_t tail = (head + size) % buf.size();
    const size_t first = std::min(n, buf.size() - tail);
    std::memcpy(buf.data() + tail, p, first);
    std::memcpy(buf.data(), p + first, n - first);
    size += n;
    return n;
  }
  size_t Take(uint8_t* p, size_t n) {
    n = std::min(n, size);
    const size_t first = std::min(n, buf.size() - head);
    std::memcpy(p, buf.data() + head, first);
    std::memcpy(p + first, buf.data(), n - first);
    head = (head + n) % buf.size();
    size -= n;
    return n;
  }
};

struct Shared {
  std::mutex mu;
  Ring to[2];              // to[i]: bytes travelling toward end i
  bool closed[2] = {};     // end i called Close()
  int event[2] = {-1, -1}; // eventfd of end i
  bool signaled[2] = {};
  short interest[2] = {};  // POLLIN/POLLOUT asked by end i's last Poll()

  ~Shared() {
    for (int fd : event) ::close(fd);
  }
  // Recomputes end i's eventfd level. REQUIRES: mu held.
  void Update(int i) {
    const bool gone = closed[0] || closed[1];
    const bool readable = to[i].size > 0 || gone;
    const bool writable = to[1 - i].space() > 0 || gone;
    const bool level = ((interest[i] & POLLIN) && readable) || ((interest[i] & POLLOUT) && writable);
    if (level == signaled[i]) return;
    uint64_t v = 1;
    if (level) {
      TERN_CHECK(::write(event[i], &v, 8) == 8);
    } else {
      TERN_CHECK(::read(event[i], &v, 8) == 8);
    }
    signaled[i] = level;
  }
  void UpdateBoth() {
    Update(0);
    Update(1);
  }
};

class FakeConn : public Conn {
 public:
  FakeConn(std::shared_ptr<Shared> s, int end, std::string peer)
      : s_(std::move(s)), end_(end), peer_(std::move(peer)) {}
  ~FakeConn() override { Close(); }

  Result<size_t> ReadSome(void* buf, size_t n) override {
    std::lock_guard<std::mutex> lock(s_->mu);
    if (s_->closed[end_]) return UnavailableError("read " + peer_ + ": connection closed locally");
    const size_t got = s_->to[end_].Take(static_cast<uint8_t*>(buf), n);
    if (got == 0 && n > 0 && s_->closed[1 - end_]) {
      return UnavailableError("read " + peer_ + ": connection closed by peer");
    }
    s_->UpdateBoth();
    return got;
  }

  Result<size_t> WriteSome(const struct iovec* iov, int iovcnt) override {
    std::lock_guard<std::mutex> lock(s_->mu);
    if (s_->closed[end_]) return UnavailableError("write " + peer_ + ": connection closed locally");
    if (s_->closed[1 - end_]) return UnavailableError("write " + peer_ + ": connection reset by peer");
    size_t total = 0;
    for (int i = 0; i < iovcnt; ++i) {
      const size_t put = s_->to[1 - end_].Put(static_cast<const uint8_t*>(iov[i].iov_base),
                                              iov[i].iov_len);
      total += put;
      if (put < iov[i].iov_len) break;
    }
    s_->UpdateBoth();
    return total;
  }

  PollSpec Poll(bool want_read, bool want_write) const override {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->interest[end_] = static_cast<short>((want_read ? POLLIN : 0) | (want_write ? POLLOUT : 0));
    s_->Update(end_);
    return {s_->event[end_], POLLIN};
  }

  void Close() override {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->closed[end_] = true;
    s_->UpdateBoth();
  }

  const std::string& peer() const override { return peer_; }

 private:
  std::shared_ptr<Shared> s_;
  int end_;
  std::string peer_;
};

}  // namespace

std::pair<std::unique_ptr<Conn>, std::unique_ptr<Conn>> FakeConnPair(size_t capacity,
                                                                     std::string name_a,
                                                                     std::string name_b) {
  TERN_CHECK_GE(capacity, 1u);
  auto s = std::make_shared<Shared>();
  for (int i = 0; i < 2; ++i) {
    s->to[i].buf.resize(capacity);
    s->event[i] = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    TERN_CHECK_GE(s->event[i], 0) << "eventfd failed";
  }
  std::unique_ptr<Conn> a(new FakeConn(s, 0, std::move(name_b)));
  std::unique_ptr<Conn> b(new FakeConn(s, 1, std::move(name_a)));
  return {std::move(a), std::move(b)};
}

}  // namespace tern::net
