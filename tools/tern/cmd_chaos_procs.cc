#include "cmd_chaos_procs.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace tern::cli {
namespace {

volatile sig_atomic_t g_stop_signal = 0;

void OnStopSignal(int sig) {
  if (g_stop_signal == 0) g_stop_signal = sig;
}

}  // namespace

pid_t SpawnSelf(const std::vector<std::string>& args, const std::string& log_path, int stdout_fd,
                int keep_fd) {
  // Everything the child needs is built before fork: after it, only
  // async-signal-safe calls until exec.
  std::vector<char*> argv;
  std::string self = "/proc/self/exe";
  argv.push_back(self.data());
  for (const std::string& s : args) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  // Dies with the driver; if the driver died between fork and here, the
  // signal would never come: check, and leave.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(1);
  // The driver's handlers do not survive exec, but its blocked mask and
  // ignored signals would: start with defaults.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (stdout_fd >= 0) ::dup2(stdout_fd, 1);
  const int err = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (err >= 0) ::dup2(err, 2);
  if (stdout_fd < 0 && err >= 0) ::dup2(err, 1);
  if (keep_fd >= 0) ::fcntl(keep_fd, F_SETFD, 0);
  ::execv(self.c_str(), argv.data());
  ::_exit(127);
}

void CatchStopSignals() {
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: poll() returns EINTR
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
}

int StopSignal() { return g_stop_signal; }

int KillAndReapAll(const std::vector<pid_t>& pids) {
  for (pid_t pid : pids) {
    if (pid > 0) ::kill(pid, SIGKILL);
  }
  int reaped = 0;
  for (;;) {
    const pid_t pid = ::waitpid(-1, nullptr, 0);
    if (pid > 0) {
      ++reaped;
    } else if (errno != EINTR) {
      break;  // ECHILD: none left
    }
  }
  return reaped;
}

}  // namespace tern::cli
