// Monotonic time and deadlines.
//
// Every blocking operation in tern takes a Deadline (STYLE.md, "deadlines on
// every operation"). A Deadline is an absolute point on the steady clock;
// Infinite() never expires.
//
//   Deadline d = Deadline::After(std::chrono::seconds(30));
//   while (!d.Expired()) { ... poll(fd, 1, d.RemainingMillisForPoll()) ... }
#ifndef TERN_UTIL_CLOCK_H_
#define TERN_UTIL_CLOCK_H_

#include <chrono>
#include <cstdint>
#include <limits>

namespace tern {

using Clock = std::chrono::steady_clock;

inline int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             Clock::now().time_since_epoch()).count();
}
inline double NowSeconds() { return static_cast<double>(NowNanos()) * 1e-9; }

class Deadline {
 public:
  static Deadline Infinite() { return Deadline(Clock::time_point::max()); }
  static Deadline After(Clock::duration d) { return Deadline(Clock::now() + d); }
  static Deadline AfterMillis(int64_t ms) { return After(std::chrono::milliseconds(ms)); }
  static Deadline At(Clock::time_point t) { return Deadline(t); }

  bool IsInfinite() const { return when_ == Clock::time_point::max(); }
  bool Expired() const { return !IsInfinite() && Clock::now() >= when_; }
  Clock::time_point when() const { return when_; }
  // Milliseconds left, clamped to [0, INT32_MAX]; -1 for an infinite
  // deadline (the convention of poll(2)). Rounds up so that a positive
  // remainder never becomes a busy zero-timeout poll.
  int RemainingMillisForPoll() const {
    if (IsInfinite()) return -1;
    auto left = when_ - Clock::now();
    if (left <= Clock::duration::zero()) return 0;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(left).count() + 1;
    return ms > std::numeric_limits<int32_t>::max() ? std::numeric_limits<int32_t>::max()
                                                    : static_cast<int>(ms);
  }
  // The earlier of two deadlines.
  Deadline Min(Deadline other) const { return when_ < other.when_ ? *this : other; }

 private:
  explicit Deadline(Clock::time_point when) : when_(when) {}
  Clock::time_point when_;
};

}  // namespace tern

#endif  // TERN_UTIL_CLOCK_H_
