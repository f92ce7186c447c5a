// Child processes of the `tern` binary for the control-plane tests: the
// master (`tern master`), chaos peers (`tern chaos-worker`) and `tern
// chaos` itself, with their stdout read line by line.
#ifndef TERN_TESTS_MEMBERSHIP_PROC_H_
#define TERN_TESTS_MEMBERSHIP_PROC_H_

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace tern::testing {

// The `tern` binary under test.
const char* TernBinary();

class Child {
 public:
  // Runs `tern args...`; `keep_fd` (if >= 0) is inherited. stderr goes to
  // `stderr_path` (or is discarded if empty). `prefix` runs before the
  // binary (e.g. {"ip", "netns", "exec", "ns"}).
  static Child Start(const std::vector<std::string>& args, int keep_fd = -1,
                     const std::string& stderr_path = "",
                     const std::vector<std::string>& prefix = {});
  Child() = default;
  Child(Child&& o) noexcept;
  Child& operator=(Child&& o) noexcept;
  ~Child();  // kills and reaps if still running

  pid_t pid() const { return pid_; }
  // The next stdout line, or nullopt when `timeout` passes or the stream ends.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout);
  void Kill(int signal);
  // Waits for exit; returns the exit code, or 128 + signal.
  int Wait();

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buffer_;
};

// A listening TCP socket on `host`:0 (not close-on-exec), and its address.
int ListenSocket(const std::string& host, std::string* address);
// A fresh temporary directory (removed by the caller).
std::string TempDir();
// Writes `secret` to dir/name and returns the path.
std::string WriteSecret(const std::string& dir, const std::string& name, const std::string& secret);

}  // namespace tern::testing

#endif  // TERN_TESTS_MEMBERSHIP_PROC_H_
