// Worker processes of a local run: spawn (fork + exec, no shell), read their
// event lines, signal and reap them.
//
// The child gets the write end of a pipe as file descriptor 3 (its events,
// worker_events.h), stdout and stderr appended to a log file, every other
// descriptor closed, and PR_SET_PDEATHSIG = SIGKILL so no worker outlives
// a launcher that dies.
//
//   TERN_ASSIGN_OR_RETURN(ChildProcess c, SpawnChild({"/usr/bin/tern", "train", ...}, "w0.log"));
//   LineReader lines(c.events_fd);
//   ... poll(c.events_fd) ... for (std::string l : lines.Read()) ...
//   int code = c.Wait();
//
// Thread-safety: thread-compatible.
#ifndef TERN_TRAIN_CHILD_PROCESS_H_
#define TERN_TRAIN_CHILD_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "tern/status.h"

namespace tern::train {

// The file descriptor on which a child writes its events.
inline constexpr int kChildEventsFd = 3;

struct ChildProcess {
  pid_t pid = -1;
  int events_fd = -1;  // read end, non-blocking, owned (closed by Close())
  int stdin_fd = -1;   // write end of the child's stdin if asked for, owned
  bool exited = false;
  int exit_code = -1;  // 128 + signal if killed by one

  // Non-blocking: reaps the child if it has exited. Returns `exited`.
  bool Poll();
  // Blocks until the child exits; returns exit_code.
  int Wait();
  // Sends a signal if the child still runs.
  void Signal(int sig) const;
  void Close();
};

// Starts argv[0] (an absolute path) with argv. Its stdin is /dev/null, or
// a pipe whose write end is `stdin_fd` if `stdin_pipe`. kInternal if
// pipe/fork fail; an exec failure shows as exit code 127 with the reason in
// the log.
Result<ChildProcess> SpawnChild(const std::vector<std::string>& argv,
                                const std::string& log_path, bool stdin_pipe = false);

// The running executable's path (/proc/self/exe resolved).
Result<std::string> SelfExecutable();

// Splits bytes from a non-blocking descriptor into lines.
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  // Reads what is available; returns the complete lines (without '\n').
  // Sets eof() when the writer closed its end.
  std::vector<std::string> Read();
  bool eof() const { return eof_; }

 private:
  int fd_;
  std::string partial_;
  bool eof_ = false;
};

}  // namespace tern::train

#endif  // TERN_TRAIN_CHILD_PROCESS_H_
