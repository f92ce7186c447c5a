// The engine's receive thread (Engine::set_receive_thread). Words:
//   main      the thread that called Run: sends, runs the handler's
//             Received/Sent/Idle, reads control streams, checks deadlines
//   receiver  the helper: reads data streams, places and verifies frames,
//             and queues the finished ones for main
// The receiver owns the receive half of every Stream (expected frames,
// partial frame state) and pending_frames_ during a threaded Run; main owns
// the send half. They meet only in the queue below (a mutex), so every
// frame main sees was written completely before.
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "collective/engine.h"
#include "net/socket.h"
#include "util/check.h"

namespace tern::collective {
namespace {
constexpr int kPollSliceMs = 20;
constexpr int64_t kCheckEveryNs = 5'000'000;
}  // namespace

class Engine::Receiver {
 public:
  struct Frame {
    int peer;
    wire::DataHeader header;
    uint8_t* data;
    size_t bytes;
  };

  explicit Receiver(Engine& e) : e_(e) {
    wake_main_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    wake_rx_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    TERN_CHECK(wake_main_ >= 0 && wake_rx_ >= 0) << "eventfd failed";
    thread_ = std::thread([this] { Loop(); });
  }
  ~Receiver() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      exit_ = true;
    }
    cv_.notify_all();
    Signal(wake_rx_);
    thread_.join();
    ::close(wake_main_);
    ::close(wake_rx_);
  }

  // Begins receiving the current operation's frames with handler h.
  void Start(Handler* h) {
    std::lock_guard<std::mutex> lock(mu_);
    h_ = h;
    frames_.clear();
    failure_ = OkStatus();
    read_error_ = false;
    done_ = false;
    stop_ = false;
    running_ = true;
    Drain(wake_main_);
    Drain(wake_rx_);
    cv_.notify_all();
  }
  // Makes the receiver stop and waits until it no longer touches anything.
  void Stop() {
    std::unique_lock<std::mutex> lock(mu_);
    stop_ = true;
    Signal(wake_rx_);
    cv_.wait(lock, [&] { return !running_; });
  }

  // Main: moves out the finished frames; reports completion or failure.
  void Take(std::vector<Frame>* out, bool* done, Status* failure, bool* read_error) {
    std::lock_guard<std::mutex> lock(mu_);
    out->swap(frames_);
    frames_.clear();
    *done = done_;
    *failure = failure_;
    *read_error = read_error_;
  }
  int main_fd() const { return wake_main_; }
  void DrainMain() { Drain(wake_main_); }
  uint64_t progress() const { return progress_.load(std::memory_order_relaxed); }

  Status Push(int peer, const wire::DataHeader& h, uint8_t* data, size_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    if (frames_.empty()) Signal(wake_main_);
    frames_.push_back({peer, h, data, bytes});
    progress_.fetch_add(1, std::memory_order_relaxed);
    return OkStatus();
  }

 private:
  static void Signal(int fd) {
    uint64_t one = 1;
    if (::write(fd, &one, 8) != 8) {
      // A full eventfd counter still wakes the reader.
    }
  }
  static void Drain(int fd) {
    uint64_t v;
    while (::read(fd, &v, 8) == 8) {
    }
  }

  void Finish(Status failure, bool read_error) {
    std::lock_guard<std::mutex> lock(mu_);
    if (failure.ok()) {
      done_ = true;
    } else {
      failure_ = std::move(failure);
      read_error_ = read_error;
    }
    Signal(wake_main_);
  }

  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return exit_ || running_; });
      if (exit_) return;
      // Stopped before this thread even woke up (main failed at once):
      // nothing to receive, but Stop() waits for running_ to clear.
      if (!stop_) {
        Handler* h = h_;
        lock.unlock();
        Receive(*h);
        lock.lock();
      }
      running_ = false;
      cv_.notify_all();
    }
  }

  bool Stopping() {
    std::lock_guard<std::mutex> lock(mu_);
    return stop_;
  }

  void Receive(Handler& h) {
    std::vector<::pollfd> fds;
    std::vector<Stream*> polled;
    for (;;) {
      if (Stopping()) return;
      bool moved = false;
      for (Stream& s : e_.streams_of_) {
        if (s.conn == nullptr || s.expected == 0 || !s.can_read) continue;
        Result<bool> p = e_.PumpRecv(s, h, this);
        if (!p.ok()) {
          // A failed read is explained by main (it owns control streams).
          const bool read_error = p.status().code() == StatusCode::kUnavailable;
          return Finish(p.status(), read_error);
        }
        moved |= *p;
      }
      if (e_.pending_frames_ == 0) return Finish(OkStatus(), false);
      if (moved) continue;
      fds.assign(1, {wake_rx_, POLLIN, 0});
      polled.clear();
      for (Stream& s : e_.streams_of_) {
        if (s.conn == nullptr || s.expected == 0) continue;
        net::PollSpec spec = s.conn->Poll(true, false);
        fds.push_back({spec.fd, spec.events, 0});
        polled.push_back(&s);
      }
      if (::poll(fds.data(), fds.size(), kPollSliceMs) < 0 && errno != EINTR) {
        return Finish(net::SysError("poll", errno, ""), false);
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents) polled[i - 1]->can_read = true;
      }
    }
  }

  Engine& e_;
  std::thread thread_;
  int wake_main_ = -1, wake_rx_ = -1;
  std::atomic<uint64_t> progress_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  Handler* h_ = nullptr;         // guarded by mu_
  std::vector<Frame> frames_;    // guarded by mu_
  Status failure_;               // guarded by mu_
  bool read_error_ = false;      // guarded by mu_
  bool done_ = false;            // guarded by mu_
  bool running_ = false, stop_ = false, exit_ = false;  // guarded by mu_
};

Engine::Engine() = default;
Engine::~Engine() = default;

Status Engine::ReceiverPush(Receiver& rx, int peer, const wire::DataHeader& h, uint8_t* data,
                            size_t bytes) {
  return rx.Push(peer, h, data, bytes);
}

Status Engine::WaitThreaded(bool receiver_idle) {
  pollfds_.clear();
  poll_streams_.clear();
  pollfds_.push_back({receiver_->main_fd(), POLLIN, 0});
  poll_streams_.push_back(-1);
  for (size_t i = 0; i < streams_of_.size(); ++i) {
    Stream& s = streams_of_[i];
    if (s.send_head >= s.sends.size() || s.can_write) continue;
    net::PollSpec spec = s.conn->Poll(false, true);
    pollfds_.push_back({spec.fd, spec.events, 0});
    poll_streams_.push_back(static_cast<int>(i));
  }
  const size_t nstreams = pollfds_.size();
  // Control streams only while no data arrives (see Engine::Wait).
  for (int p = 0; receiver_idle && p < size(); ++p) {
    if (peers_[p].control == nullptr || control_closed_[p]) continue;
    net::PollSpec spec = peers_[p].control->Poll(true, false);
    pollfds_.push_back({spec.fd, spec.events, 0});
    poll_streams_.push_back(-2 - p);
  }
  const int timeout = deadline_.IsInfinite()
                          ? kPollSliceMs
                          : std::min(kPollSliceMs, std::max(0, deadline_.RemainingMillisForPoll()));
  const int rc = ::poll(pollfds_.data(), pollfds_.size(), timeout);
  if (rc < 0 && errno != EINTR) return net::SysError("poll", errno, "");
  for (size_t i = 0; rc > 0 && i < pollfds_.size(); ++i) {
    if (pollfds_[i].revents == 0) continue;
    if (i == 0) {
      receiver_->DrainMain();
    } else if (i < nstreams) {
      streams_of_[static_cast<size_t>(poll_streams_[i])].can_write = true;
    } else {
      TERN_RETURN_IF_ERROR(ControlReadable(-2 - poll_streams_[i]));
    }
  }
  return OkStatus();
}

Status Engine::RunThreaded(Handler& h) {
  if (receiver_ == nullptr) receiver_ = std::make_unique<Receiver>(*this);
  receiver_->Start(&h);
  std::vector<Receiver::Frame> frames;
  uint64_t seen_progress = receiver_->progress();
  last_check_ns_ = NowNanos();
  Status st = [&]() -> Status {
    for (;;) {
      bool done = false, read_error = false, progress = false;
      Status failure;
      receiver_->Take(&frames, &done, &failure, &read_error);
      for (const Receiver::Frame& f : frames) {
        progress = true;
        Status s = h.Received(f.peer, f.header, f.data, f.bytes);
        if (!s.ok()) {
          culprit_ = f.peer;
          return s;
        }
      }
      if (!failure.ok()) {
        culprit_ = rx_culprit_;
        return read_error ? PeerFailed(rx_culprit_, failure) : failure;
      }
      for (Stream& s : streams_of_) {
        if (s.conn == nullptr || s.send_head >= s.sends.size() || !s.can_write) continue;
        TERN_ASSIGN_OR_RETURN(bool p, PumpSend(s, h));
        progress |= p;
      }
      if (done && frames.empty() && pending_sends_ == 0 && h.Finished()) return OkStatus();
      if (!progress) {
        TERN_ASSIGN_OR_RETURN(bool worked, h.Idle());
        if (!worked) {
          const uint64_t now_progress = receiver_->progress();
          TERN_RETURN_IF_ERROR(WaitThreaded(now_progress == seen_progress));
          seen_progress = now_progress;
        }
      }
      const int64_t now = NowNanos();
      if (now - last_check_ns_ < kCheckEveryNs && progress) continue;
      last_check_ns_ = now;
      TERN_RETURN_IF_ERROR(Checks());
    }
  }();
  receiver_->Stop();
  return BlameLaggard(std::move(st));
}

}  // namespace tern::collective
