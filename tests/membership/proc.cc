#include "proc.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "util/clock.h"

namespace tern::testing {

const char* TernBinary() { return TERN_CLI_PATH; }

Child Child::Start(const std::vector<std::string>& args, int keep_fd,
                   const std::string& stderr_path, const std::vector<std::string>& prefix) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Child();
  std::vector<std::string> all = prefix;
  all.push_back(TernBinary());
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : all) argv.push_back(s.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    const int err = ::open(stderr_path.empty() ? "/dev/null" : stderr_path.c_str(),
                           O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (err >= 0) ::dup2(err, 2);
    if (keep_fd >= 0) ::fcntl(keep_fd, F_SETFD, 0);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  Child c;
  c.pid_ = pid;
  c.out_ = fds[0];
  return c;
}

Child::Child(Child&& o) noexcept { *this = std::move(o); }
Child& Child::operator=(Child&& o) noexcept {
  std::swap(pid_, o.pid_);
  std::swap(out_, o.out_);
  std::swap(buffer_, o.buffer_);
  return *this;
}

Child::~Child() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (out_ >= 0) ::close(out_);
}

std::optional<std::string> Child::ReadLine(std::chrono::milliseconds timeout) {
  const Deadline d = Deadline::After(timeout);
  for (;;) {
    const size_t nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    pollfd p{out_, POLLIN, 0};
    if (::poll(&p, 1, d.RemainingMillisForPoll()) <= 0) return std::nullopt;
    char buf[4096];
    const ssize_t n = ::read(out_, buf, sizeof(buf));
    if (n <= 0) return std::nullopt;
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

void Child::Kill(int signal) {
  if (pid_ > 0) ::kill(pid_, signal);
}

int Child::Wait() {
  if (pid_ <= 0) return -1;
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

int ListenSocket(const std::string& host, std::string* address) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  ::inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  socklen_t len = sizeof(a);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(fd, 128) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return -1;
  }
  *address = host + ":" + std::to_string(ntohs(a.sin_port));
  return fd;
}

std::string TempDir() {
  char tmpl[] = "/tmp/tern-membership-test-XXXXXX";
  return ::mkdtemp(tmpl);
}

std::string WriteSecret(const std::string& dir, const std::string& name, const std::string& secret) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << secret << "\n";
  return path;
}

}  // namespace tern::testing
