#include "train/launcher.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

#include "tern/master.h"
#include "train/child_process.h"
#include "util/clock.h"
#include "util/logging.h"

namespace tern::train {
namespace {

// How long workers get to exit after SIGTERM before SIGKILL.
constexpr double kTermGraceSeconds = 3.0;
// Without a terminal, a progress line every this many seconds.
constexpr double kPlainProgressSeconds = 5.0;

Status WriteFile(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return InternalError("cannot write " + path + ": " + std::strerror(errno));
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return InternalError("cannot write " + path + ": " + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  ::close(fd);
  return OkStatus();
}

std::string LogTail(const std::string& path, size_t max_lines) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) {
    lines.push_back(l);
    if (lines.size() > max_lines) lines.erase(lines.begin());
  }
  std::string out;
  for (const std::string& l : lines) out += (out.empty() ? "" : " | ") + l;
  return out;
}

struct Proc {
  int id = 0;
  int slot = 0;
  std::string log;
  ChildProcess child;
  std::unique_ptr<LineReader> reader;
  bool killed = false;  // by --chaos, or by the launcher stopping the run
};

class LocalRun {
 public:
  LocalRun(const RunConfig& c, const LaunchOptions& o) : c_(c), o_(o), monitor_(c) {}
  ~LocalRun() {
    StopAll();
    if (drew_ && o_.live && !finished_) std::fputc('\n', o_.progress);
  }

  Status Start();
  Result<LaunchResult> Loop();

 private:
  Status Spawn(int slot, bool gated);
  void OpenGates();
  void ReadEvents(Proc& p, double now);
  Status CheckExits();
  Status MaybeChaos(double now);
  void KillUnjoined();
  void StopAll();
  void DrawProgress(double now, bool force);
  bool AllExited() const;

  const RunConfig& c_;
  const LaunchOptions& o_;
  RunMonitor monitor_;
  std::unique_ptr<Master> master_;
  std::string exe_, config_path_, secret_path_;
  std::vector<Proc> procs_;
  bool chaos_done_ = false;
  int next_gate_ = 0;  // the next initial worker allowed to join
  double last_draw_ = -1;
  bool drew_ = false;
  bool finished_ = false;
};

Status LocalRun::Start() {
  if (o_.exe.empty()) {
    TERN_ASSIGN_OR_RETURN(exe_, SelfExecutable());
  } else {
    exe_ = o_.exe;
  }
  // The embedded master logs every departure as a warning; at the end of
  // a run all workers leave, which is no news. Its errors still show.
  if (std::getenv("TERN_LOG_LEVEL") == nullptr) SetLogLevel(LogLevel::kERROR);
  TERN_ASSIGN_OR_RETURN(master_, Master::StartLocal(/*run_id=*/1, /*min_peers=*/c_.workers));
  secret_path_ = o_.work_dir + "/secret";
  config_path_ = o_.work_dir + "/config.json";
  TERN_RETURN_IF_ERROR(WriteFile(secret_path_, master_->PeerOptions().secret + "\n"));
  TERN_RETURN_IF_ERROR(WriteFile(config_path_, RunConfigToJson(c_) + "\n"));
  std::signal(SIGPIPE, SIG_IGN);  // a gate write to a worker that died
  for (int slot = 0; slot < c_.workers; ++slot) TERN_RETURN_IF_ERROR(Spawn(slot, true));
  return OkStatus();
}

Status LocalRun::Spawn(int slot, bool gated) {
  Proc p;
  p.id = static_cast<int>(procs_.size());
  p.slot = slot;
  p.log = o_.work_dir + "/worker-" + std::to_string(slot) +
          (p.id >= c_.workers ? "." + std::to_string(p.id) : "") + ".log";
  std::vector<std::string> argv = {
      exe_, "train", "--worker-config", config_path_, "--master", master_->address(),
      "--secret-file", secret_path_, "--run-id", std::to_string(master_->run_id()),
      "--rank", std::to_string(slot)};
  if (gated) argv.push_back("--join-gate");
  TERN_ASSIGN_OR_RETURN(p.child, SpawnChild(argv, p.log, gated));
  p.reader = std::make_unique<LineReader>(p.child.events_fd);
  procs_.push_back(std::move(p));
  return OkStatus();
}

// Every worker loads its data at once, but worker k registers with the
// master only after worker k-1 has: peer ids, and with them the ranks of
// the first revision, follow the slots, so the reduction order, and with it
// every result bit, is the same from run to run.
void LocalRun::OpenGates() {
  while (next_gate_ < c_.workers) {
    if (next_gate_ > 0) {
      const MasterSnapshot s = master_->Snapshot();
      if (s.pending.size() + s.members.size() < static_cast<size_t>(next_gate_)) return;
    }
    ChildProcess& child = procs_[static_cast<size_t>(next_gate_)].child;
    if (child.stdin_fd >= 0) {
      (void)!::write(child.stdin_fd, "g", 1);
      ::close(child.stdin_fd);
      child.stdin_fd = -1;
    }
    ++next_gate_;
  }
}

void LocalRun::ReadEvents(Proc& p, double now) {
  if (p.child.events_fd < 0) return;
  for (const std::string& line : p.reader->Read()) {
    Result<WorkerEvent> e = EventFromJson(line);
    if (!e.ok() || p.killed) continue;
    if (e->event == "started" && !monitor_.done().empty()) {
      KillUnjoined();  // started after the run ended (see there)
      continue;
    }
    monitor_.OnEvent(p.slot, p.id, *e, now);
  }
  if (p.reader->eof()) p.child.Close();
}

bool LocalRun::AllExited() const {
  for (const Proc& p : procs_) {
    if (!p.child.exited || p.child.events_fd >= 0) return false;
  }
  return true;
}

Status LocalRun::CheckExits() {
  for (Proc& p : procs_) {
    if (!p.child.Poll() || p.killed || p.child.events_fd >= 0) continue;
    if (p.child.exit_code == 0 && monitor_.Done(p.id)) continue;
    Status err = monitor_.LastError(p.id);
    if (err.ok()) {
      err = InternalError("exited with code " + std::to_string(p.child.exit_code) + ": " +
                          LogTail(p.log, 8));
    }
    return Status(err.code(), "worker " + std::to_string(p.slot) + " (log " + p.log +
                                  "): " + std::string(err.message()));
  }
  return OkStatus();
}

Status LocalRun::MaybeChaos(double now) {
  if (!c_.chaos || chaos_done_) return OkStatus();
  if (monitor_.max_step() < static_cast<int64_t>(c_.chaos_at * static_cast<double>(c_.steps))) {
    return OkStatus();
  }
  // The victim: the last-started live worker that is not rank 0 (rank 0
  // evaluates; killing it works too, but then the curve has a gap).
  for (auto it = procs_.rbegin(); it != procs_.rend(); ++it) {
    if (it->child.exited || it->killed || monitor_.RankOf(it->id) <= 0) continue;
    it->child.Signal(SIGKILL);
    it->killed = true;
    monitor_.OnKill(it->id, now);
    chaos_done_ = true;
    return Spawn(it->slot, false);
  }
  return OkStatus();
}

// A replacement that was not admitted before the others finished would wait
// for its join timeout, or, admitted alone after they left, train a
// one-worker run of its own from scratch: once a worker is done, stop every
// worker that has not started yet.
void LocalRun::KillUnjoined() {
  if (monitor_.done().empty()) return;
  for (Proc& p : procs_) {
    if (!p.child.exited && !p.killed && !monitor_.Started(p.id)) {
      p.child.Signal(SIGKILL);
      p.killed = true;
    }
  }
}

void LocalRun::StopAll() {
  for (Proc& p : procs_) {
    if (!p.child.exited) {
      p.child.Signal(SIGTERM);
      p.killed = true;
    }
  }
  const double until = NowSeconds() + kTermGraceSeconds;
  for (Proc& p : procs_) {
    while (!p.child.Poll() && NowSeconds() < until) ::usleep(20000);
    if (!p.child.exited) {
      p.child.Signal(SIGKILL);
      p.child.Wait();
    }
    p.child.Close();
  }
}

void LocalRun::DrawProgress(double now, bool force) {
  if (o_.progress == nullptr) return;
  const double every = o_.live ? 0.2 : kPlainProgressSeconds;
  if (!force && last_draw_ >= 0 && now - last_draw_ < every) return;
  last_draw_ = now;
  const std::string line = monitor_.ProgressLine(now);
  if (o_.live) {
    std::fprintf(o_.progress, "\r\033[K%s", line.c_str());
  } else {
    std::fprintf(o_.progress, "%s\n", line.c_str());
  }
  std::fflush(o_.progress);
  drew_ = true;
}

Result<LaunchResult> LocalRun::Loop() {
  const Deadline deadline =
      Deadline::After(std::chrono::milliseconds(static_cast<int64_t>(o_.timeout_seconds * 1000)));
  while (!AllExited()) {
    if (o_.stop != nullptr && *o_.stop) return CancelledError("interrupted");
    if (deadline.Expired()) {
      return DeadlineExceededError("the run took longer than " +
                                   std::to_string(static_cast<int>(o_.timeout_seconds)) + " s");
    }
    std::vector<pollfd> fds;
    for (Proc& p : procs_) {
      if (p.child.events_fd >= 0) fds.push_back({p.child.events_fd, POLLIN, 0});
    }
    ::poll(fds.data(), fds.size(), 100);
    const double now = NowSeconds();
    for (Proc& p : procs_) ReadEvents(p, now);
    TERN_RETURN_IF_ERROR(CheckExits());
    OpenGates();
    TERN_RETURN_IF_ERROR(MaybeChaos(now));
    KillUnjoined();
    DrawProgress(now, false);
  }
  DrawProgress(NowSeconds(), true);
  if (drew_ && o_.live) std::fputc('\n', o_.progress);
  finished_ = true;
  if (monitor_.done().empty()) return InternalError("no worker finished the run");
  LaunchResult r;
  r.report = monitor_.Report();
  r.chaos = monitor_.Chaos();
  r.parity = monitor_.Parity();
  r.verdict = monitor_.Verdict();
  r.work_dir = o_.work_dir;
  return r;
}

}  // namespace

Result<LaunchResult> LaunchLocalRun(const RunConfig& config, const LaunchOptions& options) {
  TERN_RETURN_IF_ERROR(ValidateRunConfig(config));
  LocalRun run(config, options);
  TERN_RETURN_IF_ERROR(run.Start());
  return run.Loop();
}

}  // namespace tern::train
