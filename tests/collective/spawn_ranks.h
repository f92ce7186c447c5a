// SpawnRanks(n, fn): n ranks as real processes over loopback TCP.
//
// The parent binds n listeners on 127.0.0.1:0 before forking (so ports are
// never guessed and never race), then child r adopts listener r into a
// StaticWorld, creates a Communicator and runs fn. What fn returns is sent
// back through a pipe; an error status makes the child exit 1. The parent
// may SIGKILL or SIGSTOP a child while it runs (RankControl).
#ifndef TERN_TESTS_COLLECTIVE_SPAWN_RANKS_H_
#define TERN_TESTS_COLLECTIVE_SPAWN_RANKS_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "tern/communicator.h"
#include "tern/world.h"

namespace tern::testing {

struct RankOutcome {
  bool exited = false;  // normally (see exit_code)
  int exit_code = -1;
  int signal = 0;       // the signal that ended it, if any
  std::string output;   // what fn returned, or the error it failed with
};

using ChildFn = std::function<Result<std::string>(int rank, Communicator& comm, StaticWorld& world)>;

// Called in the parent after all children started; may kill them.
using ParentFn = std::function<void(const std::vector<pid_t>& pids)>;

struct SpawnOptions {
  CommunicatorOptions communicator;
  ParentFn parent;
  std::chrono::seconds timeout{60};  // children still running then are killed
};

std::vector<RankOutcome> SpawnRanks(int n, const ChildFn& fn, const SpawnOptions& options = {});

// Monotonic nanoseconds, comparable across processes of this machine.
int64_t MonotonicNanos();

}  // namespace tern::testing

#endif  // TERN_TESTS_COLLECTIVE_SPAWN_RANKS_H_
