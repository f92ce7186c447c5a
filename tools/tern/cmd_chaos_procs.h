// Child processes of `tern chaos` (cmd_chaos.cc): starting them so they
// die with the driver, and stopping the driver cleanly on SIGINT/SIGTERM.
//
// A chaos run forks a master and many peers. If the driver dies (Ctrl-C,
// `kill`, a crash), they must not live on as orphans that keep a port and
// a CPU busy: every child asks the kernel for SIGKILL when the driver dies
// (PR_SET_PDEATHSIG), and the driver turns SIGINT/SIGTERM/SIGHUP into a
// flag its loop polls, so it kills and reaps its children before exiting.
//
// Thread-safety: call from the driver's single thread only (the parent
// death signal is tied to the thread that forked).
#ifndef TERN_TOOLS_TERN_CMD_CHAOS_PROCS_H_
#define TERN_TOOLS_TERN_CMD_CHAOS_PROCS_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace tern::cli {

// Forks and execs this binary (`/proc/self/exe args...`). The child's
// stdout goes to `stdout_fd` if >= 0 (else to `log_path`), its stderr to
// `log_path` (appended); `keep_fd` (if >= 0) is inherited across exec. The
// child gets SIGKILL when the calling thread exits, and exits at once if
// the caller already died before that was armed. Returns the child's pid,
// or -1 if fork failed.
pid_t SpawnSelf(const std::vector<std::string>& args, const std::string& log_path, int stdout_fd,
                int keep_fd);

// Installs handlers that record SIGINT, SIGTERM and SIGHUP (without
// SA_RESTART, so a blocking poll() returns EINTR at once).
void CatchStopSignals();
// The first stop signal received since CatchStopSignals(), or 0.
int StopSignal();

// SIGKILLs each pid > 0 of `pids`, then reaps every child of this process
// (blocks until all have exited). Returns how many children were reaped.
int KillAndReapAll(const std::vector<pid_t>& pids);

}  // namespace tern::cli

#endif  // TERN_TOOLS_TERN_CMD_CHAOS_PROCS_H_
