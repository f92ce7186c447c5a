#include "spawn_ranks.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "net/tcp.h"

namespace tern::testing {
namespace {

void WriteAll(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    const ssize_t w = ::write(fd, s.data() + done, s.size() - done);
    if (w <= 0) return;
    done += static_cast<size_t>(w);
  }
}

[[noreturn]] void RunChild(int r, const std::vector<std::string>& addrs, int listen_fd, int out_fd,
                           const ChildFn& fn, const CommunicatorOptions& copts) {
  StaticWorldOptions w;
  w.run_id = 0x7E57;
  w.rank = r;
  for (size_t q = 0; q < addrs.size(); ++q) w.peers.push_back({q + 1, addrs[q]});
  w.listen_fd = listen_fd;
  Result<std::string> out = InternalError("not run");
  auto world = StaticWorld::Create(w);
  if (world.ok()) {
    auto comm = Communicator::Create(world->get(), copts);
    out = comm.ok() ? fn(r, **comm, **world) : Result<std::string>(comm.status());
  } else {
    out = world.status();
  }
  WriteAll(out_fd, out.ok() ? *out : out.status().ToString());
  ::close(out_fd);
  ::_exit(out.ok() ? 0 : 1);
}

}  // namespace

int64_t MonotonicNanos() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::vector<RankOutcome> SpawnRanks(int n, const ChildFn& fn, const SpawnOptions& options) {
  std::vector<std::unique_ptr<net::Listener>> listeners;
  std::vector<std::string> addrs;
  for (int r = 0; r < n; ++r) {
    auto l = net::Listener::Bind("127.0.0.1:0");
    if (!l.ok()) return std::vector<RankOutcome>(static_cast<size_t>(n));
    addrs.push_back((*l)->address());
    listeners.push_back(std::move(*l));
  }
  std::vector<pid_t> pids;
  std::vector<int> pipes;
  for (int r = 0; r < n; ++r) {
    int p[2];
    if (::pipe(p) != 0) break;
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(p[0]);
      for (int fd : pipes) ::close(fd);
      const int mine = listeners[r]->ReleaseFd();
      listeners.clear();
      RunChild(r, addrs, mine, p[1], fn, options.communicator);
    }
    ::close(p[1]);
    pids.push_back(pid);
    pipes.push_back(p[0]);
  }
  listeners.clear();
  if (options.parent) options.parent(pids);
  std::vector<RankOutcome> out(pids.size());
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  for (size_t r = 0; r < pids.size(); ++r) {
    // Read until EOF (the child exited or was killed), bounded by the timeout.
    char buf[4096];
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now()).count();
      pollfd pf{pipes[r], POLLIN, 0};
      if (left <= 0 || ::poll(&pf, 1, static_cast<int>(left)) <= 0) {
        for (pid_t pid : pids) ::kill(pid, SIGKILL);
        break;
      }
      const ssize_t got = ::read(pipes[r], buf, sizeof(buf));
      if (got <= 0) break;
      out[r].output.append(buf, static_cast<size_t>(got));
    }
    ::close(pipes[r]);
    int status = 0;
    ::waitpid(pids[r], &status, 0);
    out[r].exited = WIFEXITED(status);
    out[r].exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    out[r].signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  }
  return out;
}

}  // namespace tern::testing
