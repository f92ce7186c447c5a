// What a worker of `tern train` reports while it runs, as one JSON object
// per line: to its launcher over a pipe (local runs), or rendered for a
// person (multi-host workers started by ssh, Slurm, torchrun-style env).
//
// Events, in the order a worker emits them:
//   "started"    joined the run (rank, peer id, world size, revision)
//   "safepoint"  a safe point completed (revision, members, entries fixed,
//                state bytes received; joined = this worker was admitted)
//   "step"       periodic progress (about 4 per second) and a "mark" at
//                every multiple of eval_every, so the launcher can average
//                bytes over workers at the evaluation points exactly
//   "eval"       rank 0 evaluated the global parameters (final = last one)
//   "done"       the worker's totals and hashes
//   "error"      the worker failed (message); it exits non-zero
//
// Thread-safety: EventSink implementations are called from one thread.
#ifndef TERN_TRAIN_WORKER_EVENTS_H_
#define TERN_TRAIN_WORKER_EVENTS_H_

#include <cstdint>
#include <string>

#include "tern/status.h"

namespace tern::train {

struct WorkerEvent {
  std::string event;       // "started", "safepoint", "step", "eval", "done", "error"
  int slot = 0;            // the worker's shard (the launcher's RANK)
  int rank = -1;           // in the current revision
  uint64_t peer_id = 0;
  int world_size = 0;
  uint64_t revision = 0;
  double wall = 0;         // training seconds since "started", evaluation excluded
  int64_t step = 0;        // the strategy's replicated inner-step counter
  int64_t local_steps = 0; // steps this process ran
  bool mark = false;       // "step" at a multiple of eval_every
  double loss = 0;         // last batch loss ("step"), test loss ("eval")
  double accuracy = 0;     // "eval"
  int64_t samples = 0;     // "eval": test images; "step": training samples of this process
  bool final = false;      // "eval": the end-of-run evaluation
  uint64_t bytes_sent = 0; // the strategy's counters (strategy.h)
  uint64_t bytes_received = 0;
  uint64_t peak_message_bytes = 0;
  uint64_t syncs = 0;
  uint64_t failures = 0;   // hooks that failed and were retried
  // "safepoint"
  int fixed = 0;           // replicated entries overwritten by the sync
  uint64_t state_bytes = 0;
  double seconds = 0;
  bool joined = false;
  // "done"
  uint64_t state_hash = 0;   // SharedState::StateHash() (replicated state)
  uint64_t params_hash = 0;  // xxh3 of the global parameters
  int safe_points = 0;
  double eval_seconds = 0;
  std::string message;       // "error"; "done": the strategy's canonical config
  int code = 0;              // "error": the StatusCode
};

std::string EventToJson(const WorkerEvent& e);
// kDataLoss if the line is not an event object (the launcher shows it raw).
Result<WorkerEvent> EventFromJson(const std::string& line);

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void Emit(const WorkerEvent& e) = 0;
};

// JSON lines to a file descriptor (not owned), one write() per event.
class FdEventSink : public EventSink {
 public:
  explicit FdEventSink(int fd) : fd_(fd) {}
  void Emit(const WorkerEvent& e) override;

 private:
  int fd_;
};

// Human-readable lines on stdout for a worker started without a launcher:
// evaluations, safe points and a progress line every few seconds.
class ConsoleEventSink : public EventSink {
 public:
  void Emit(const WorkerEvent& e) override;

 private:
  double last_print_ = -1;
};

}  // namespace tern::train

#endif  // TERN_TRAIN_WORKER_EVENTS_H_
