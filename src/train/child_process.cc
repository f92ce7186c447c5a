#include "train/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace tern::train {
namespace {

// A line longer than this is handed over in pieces (events are < 2 kB).
constexpr size_t kMaxLineBytes = size_t{1} << 20;

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// In the child, between fork and exec: only async-signal-safe calls.
[[noreturn]] void ExecChild(char* const* argv, int events_w, int log_fd, int stdin_r,
                            pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the launcher died before prctl
  if (stdin_r < 0) stdin_r = ::open("/dev/null", O_RDONLY);
  if (stdin_r >= 0) ::dup2(stdin_r, STDIN_FILENO);
  ::dup2(log_fd, STDOUT_FILENO);
  ::dup2(log_fd, STDERR_FILENO);
  ::dup2(events_w, kChildEventsFd);
  ::close_range(kChildEventsFd + 1, ~0U, 0);
  ::execv(argv[0], argv);
  const char msg[] = "tern: exec of the worker binary failed\n";
  (void)!::write(STDERR_FILENO, msg, sizeof(msg) - 1);
  ::_exit(127);
}

}  // namespace

bool ChildProcess::Poll() {
  if (exited || pid <= 0) return exited;
  int status = 0;
  pid_t r = ::waitpid(pid, &status, WNOHANG);
  if (r == pid) {
    exited = true;
    exit_code = DecodeWaitStatus(status);
  }
  return exited;
}

int ChildProcess::Wait() {
  while (!exited && pid > 0) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, 0);
    if (r == pid) {
      exited = true;
      exit_code = DecodeWaitStatus(status);
    } else if (r < 0 && errno != EINTR) {
      break;
    }
  }
  return exit_code;
}

void ChildProcess::Signal(int sig) const {
  if (!exited && pid > 0) ::kill(pid, sig);
}

void ChildProcess::Close() {
  if (events_fd >= 0) ::close(events_fd);
  if (stdin_fd >= 0) ::close(stdin_fd);
  events_fd = stdin_fd = -1;
}

Result<ChildProcess> SpawnChild(const std::vector<std::string>& argv,
                                const std::string& log_path, bool stdin_pipe) {
  if (argv.empty() || argv[0].empty() || argv[0][0] != '/') {
    return InvalidArgumentError("SpawnChild needs an absolute program path");
  }
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    return InternalError("cannot open " + log_path + ": " + std::strerror(errno));
  }
  int fds[2], in[2] = {-1, -1};
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    ::close(log_fd);
    return InternalError(std::string("pipe2: ") + std::strerror(errno));
  }
  if (stdin_pipe && ::pipe2(in, O_CLOEXEC) != 0) {
    for (int fd : {log_fd, fds[0], fds[1]}) ::close(fd);
    return InternalError(std::string("pipe2: ") + std::strerror(errno));
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) ExecChild(args.data(), fds[1], log_fd, in[0], parent);
  const int fork_errno = errno;
  ::close(fds[1]);
  ::close(log_fd);
  if (in[0] >= 0) ::close(in[0]);
  if (pid < 0) {
    ::close(fds[0]);
    if (in[1] >= 0) ::close(in[1]);
    return InternalError(std::string("fork: ") + std::strerror(fork_errno));
  }
  ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  ChildProcess c;
  c.pid = pid;
  c.events_fd = fds[0];
  c.stdin_fd = in[1];
  return c;
}

Result<std::string> SelfExecutable() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return InternalError(std::string("readlink /proc/self/exe: ") + std::strerror(errno));
  return std::string(buf, static_cast<size_t>(n));
}

std::vector<std::string> LineReader::Read() {
  std::vector<std::string> lines;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd_, buf, sizeof(buf));
    if (n > 0) {
      partial_.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) eof_ = true;
    if (n < 0 && errno == EINTR) continue;
    break;  // EAGAIN: nothing more for now
  }
  size_t start = 0;
  for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(partial_.substr(start, nl - start));
  }
  partial_.erase(0, start);
  if (partial_.size() > kMaxLineBytes) {  // not one of our events: cut it
    lines.push_back(std::move(partial_));
    partial_.clear();
  }
  if (eof_ && !partial_.empty()) {
    lines.push_back(partial_);
    partial_.clear();
  }
  return lines;
}

}  // namespace tern::train
