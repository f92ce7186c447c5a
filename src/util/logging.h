// Minimal leveled logging to stderr.
//
//   TERN_LOG(INFO) << "rank " << rank << " joined revision " << rev;
//
// The threshold comes from the environment variable TERN_LOG_LEVEL
// (DEBUG, INFO, WARNING, ERROR; default WARNING) or SetLogLevel(). Each line
// is written with one write() so lines of concurrent threads do not interleave.
// Thread-safe.
#ifndef TERN_UTIL_LOGGING_H_
#define TERN_UTIL_LOGGING_H_

#include <sstream>

namespace tern {

enum class LogLevel : int { kDEBUG = 0, kINFO = 1, kWARNING = 2, kERROR = 3 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Adds a prefix such as "rank 3" to every line of this process.
void SetLogPrefix(const std::string& prefix);

namespace internal {
class LogMessage {
 public:
  LogMessage(LogLevel level, const char* file, int line);
  ~LogMessage();
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};
struct LogVoidify {
  void operator&(std::ostream&) {}
};
}  // namespace internal

}  // namespace tern

#define TERN_LOG(level)                                                  \
  (::tern::LogLevel::k##level < ::tern::GetLogLevel())                   \
      ? (void)0                                                          \
      : ::tern::internal::LogVoidify() &                                 \
            ::tern::internal::LogMessage(::tern::LogLevel::k##level, __FILE__, __LINE__).stream()

#endif  // TERN_UTIL_LOGGING_H_
