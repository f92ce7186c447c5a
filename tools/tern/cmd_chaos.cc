// `tern chaos`: a synthetic training run (all-reduce plus shared-state sync
// every step, cmd_chaos_worker.cc) whose peers and master are killed and
// restarted at random, checking that live peers never diverge and the run
// never hangs (docs/membership_protocol.md, "Fault model").
//
// The orchestrator keeps the master's listening socket open across master
// restarts (the master inherits it), so peers reconnect into its backlog.
// Chaos events happen one at a time: kill a peer (SIGKILL) at a random
// point of a step, wait until every survivor completed a step again (the
// recovery time), then start a replacement that joins as a new peer; or
// kill the master and restart it from its --state-dir (optionally killing a
// peer while it is down). Recoveries of 500 ms or more are listed in the
// report with why the master dropped the victim (cmd_chaos_report.h). The
// flags and command registration are in cmd_chaos_flags.{h,cc}.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "cmd_chaos_flags.h"
#include "cmd_chaos_procs.h"
#include "cmd_chaos_report.h"
#include "command.h"
#include "tern/master.h"
#include "util/clock.h"
#include "util/philox.h"

namespace tern::cli {
namespace {

struct Worker {
  pid_t pid = -1;
  int out = -1;        // its stdout
  std::string buffer;  // partial line
  bool finished = false;
  bool killed = false;
  uint64_t peer = 0;   // its peer id, once it joined
};

class Chaos {
 public:
  explicit Chaos(const ChaosFlags& f) : f_(f), rng_(f.seed, RngPurpose::kChaos, 0, 0) {}
  ~Chaos() { Cleanup(); }

  Status Setup();
  int Run();

 private:
  pid_t Spawn(const std::vector<std::string>& args, int stdout_fd, int keep_fd);
  void StartMaster();
  pid_t StartWorker();
  void ReadWorker(Worker& w);
  void OnLine(Worker& w, const std::string& line);
  void Reap();
  void MaybeAct(int64_t now);
  void KillPeer(pid_t victim);
  pid_t RandomLivePeer();
  void EndRecovery(int64_t now);
  // Prints the report; returns the exit code (0: no divergence, hang,
  // stuck recovery or peer error).
  int Report(double seconds);
  // SIGKILLs the master and every live peer and reaps them; returns how
  // many processes were reaped.
  int StopChildren();
  void Cleanup();
  void Log(const std::string& event);
  size_t Alive() const;
  int64_t Uniform(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(rng_.NextU32() % (hi - lo + 1)); }

  enum class Phase { kIdle, kRecovering, kMasterDown, kJoining };
  const ChaosFlags f_;
  RngStream rng_;
  std::string dir_, secret_file_, state_dir_, master_address_;
  int listen_fd_ = -1;
  pid_t master_ = -1;
  std::map<pid_t, Worker> workers_;
  Phase phase_ = Phase::kIdle;
  int64_t phase_until_ = 0;  // deadline of the current phase (ns)
  int64_t kill_time_ = 0;
  int64_t master_restart_time_ = 0;  // 0: never restarted
  int64_t double_kill_at_ = 0;       // a peer kill planned while the master is down
  std::map<pid_t, int64_t> survivors_;  // pid -> first success after the kill (0: none yet)
  pid_t joiner_ = -1;
  // A replacement to kill during its join: at which line of it ('-': any
  // time soon after its start, 'R' registered, 'J' admitted, 'S' received
  // the state), then when (0: not yet known, or not to be killed).
  char joiner_kill_on_ = 0;
  int64_t joiner_kill_at_ = 0;
  int64_t last_progress_ = 0;
  uint64_t max_step_ = 0;
  ChaosHashes after_step_, after_sync_;  // a divergence: two hashes for one key
  std::vector<ChaosRecovery> recoveries_;
  ChaosTally t_;
  int stop_signal_ = 0;  // SIGINT/SIGTERM/SIGHUP that interrupted the run
  std::ofstream events_;
  int64_t start_ = NowNanos();
};

void Chaos::Log(const std::string& event) {
  // Run time, and CLOCK_MONOTONIC ms as in the peers' --trace lines.
  const int64_t now = NowNanos();
  char stamp[64];
  std::snprintf(stamp, sizeof(stamp), "%.3f ms (%.3f): ", static_cast<double>(now - start_) * 1e-6,
                static_cast<double>(now) * 1e-6);
  events_ << stamp << event << std::endl;
}

Status Chaos::Setup() {
  char tmpl[] = "/tmp/tern-chaos-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return UnavailableError("mkdtemp failed");
  dir_ = tmpl;
  secret_file_ = dir_ + "/secret";
  state_dir_ = dir_ + "/state";
  TERN_ASSIGN_OR_RETURN(std::string secret, GenerateSecret());
  std::ofstream(secret_file_) << secret << "\n";
  // The master's socket: bound once, kept here, inherited by each master.
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      ::listen(listen_fd_, 1024) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    return UnavailableError("cannot bind the master's socket");
  }
  master_address_ = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  events_.open(dir_ + "/events.log");
  return OkStatus();
}

pid_t Chaos::Spawn(const std::vector<std::string>& args, int stdout_fd, int keep_fd) {
  const std::string log = dir_ + "/" + args[0] + "-" + std::to_string(workers_.size()) + ".log";
  return SpawnSelf(args, log, stdout_fd, keep_fd);
}

void Chaos::StartMaster() {
  master_ = Spawn({"master", "--listen-fd", std::to_string(listen_fd_), "--secret-file",
                   secret_file_, "--state-dir", state_dir_, "--min-peers",
                   std::to_string(f_.ranks)},
                  -1, listen_fd_);
}

pid_t Chaos::StartWorker() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
  std::vector<std::string> args = {"chaos-worker", "--master", master_address_, "--secret-file",
                                   secret_file_, "--numel", std::to_string(f_.numel), "--steps",
                                   std::to_string(f_.steps), "--seed", std::to_string(f_.seed),
                                   "--compute-ms", std::to_string(f_.compute_ms)};
  if (f_.keep_logs) args.push_back("--trace");  // a timeline in each peer's log
  const pid_t pid = Spawn(args, fds[1], -1);
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    return -1;
  }
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
  workers_[pid] = Worker{pid, fds[0], "", false, false};
  Log("started worker " + std::to_string(pid));
  return pid;
}

size_t Chaos::Alive() const {
  size_t n = 0;
  for (const auto& [pid, w] : workers_) n += w.pid > 0 && !w.finished ? 1 : 0;
  return n;
}

void Chaos::OnLine(Worker& w, const std::string& line) {
  std::istringstream in(line);
  std::string kind;
  uint64_t step = 0, rev = 0;
  std::string hash;
  in >> kind;
  if (kind == "X") {
    w.finished = true;
  } else if (kind == "J" || kind == "R") {
    in >> w.peer;
  } else if (kind == "F") {
    ++t_.failures;
  } else if (kind == "S" && (in >> step >> rev >> hash)) {
    after_sync_[{step, rev}].insert(hash);
  } else if (kind == "D" && (in >> step >> rev >> hash)) {
    int64_t t = 0;
    in >> t;
    after_step_[{step, rev}].insert(hash);
    max_step_ = std::max(max_step_, step);
    last_progress_ = NowNanos();
    auto it = survivors_.find(w.pid);
    if (it != survivors_.end() && it->second == 0 && t > kill_time_) {
      it->second = t;
    }
    if (phase_ == Phase::kJoining && w.pid == joiner_) phase_until_ = 0;
  }
  if (w.pid == joiner_ && joiner_kill_on_ != 0 && kind.size() == 1 &&
      kind[0] == joiner_kill_on_ && joiner_kill_at_ == 0) {
    joiner_kill_at_ = NowNanos() + Uniform(0, 20) * 1000000;
  }
}

void Chaos::ReadWorker(Worker& w) {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(w.out, buf, sizeof(buf));
    if (n <= 0) break;
    w.buffer.append(buf, static_cast<size_t>(n));
  }
  for (size_t nl; (nl = w.buffer.find('\n')) != std::string::npos;) {
    OnLine(w, w.buffer.substr(0, nl));
    w.buffer.erase(0, nl + 1);
  }
  if (w.buffer.size() > 4096) w.buffer.clear();  // not a line of ours
}

void Chaos::Reap() {
  for (int status; ;) {
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    if (pid == master_) {
      master_ = -1;
      continue;
    }
    auto it = workers_.find(pid);
    if (it == workers_.end()) continue;
    Worker& w = it->second;
    ReadWorker(w);
    ::close(w.out);
    if (!w.killed && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) ++t_.worker_errors;
    w.finished = true;
    w.pid = -1;
    survivors_.erase(pid);
  }
}

pid_t Chaos::RandomLivePeer() {
  std::vector<pid_t> alive;
  for (const auto& [pid, w] : workers_) {
    if (w.pid > 0 && !w.finished) alive.push_back(pid);
  }
  return alive[static_cast<size_t>(Uniform(0, static_cast<int64_t>(alive.size()) - 1))];
}

// Kills `victim` and starts timing the survivors' recovery.
void Chaos::KillPeer(pid_t victim) {
  std::vector<pid_t> alive;
  for (const auto& [pid, w] : workers_) {
    if (w.pid > 0 && !w.finished) alive.push_back(pid);
  }
  workers_[victim].killed = true;
  ::kill(victim, SIGKILL);
  Log("killed worker " + std::to_string(victim) + " at step " + std::to_string(max_step_));
  ++t_.kills;
  kill_time_ = NowNanos();
  survivors_.clear();
  for (pid_t p : alive) {
    if (p != victim) survivors_[p] = 0;
  }
  ChaosRecovery r;
  r.kill_ms = static_cast<double>(kill_time_ - start_) * 1e-6;
  r.step = max_step_;
  r.peer = workers_[victim].peer;
  r.master_down = master_ < 0;
  r.joining = victim == joiner_ && phase_ == Phase::kJoining;
  if (master_restart_time_ > 0) {
    r.since_master_restart_ms = static_cast<double>(kill_time_ - master_restart_time_) * 1e-6;
  }
  recoveries_.push_back(r);
}

// The recovery phase ended (all survivors stepped, or it timed out): start
// a replacement unless the run is about to end.
void Chaos::EndRecovery(int64_t now) {
  survivors_.clear();
  // A replacement joins unless the run is about to end (a peer that
  // found nobody left would start a new run from its own state).
  if (max_step_ + 2 >= f_.steps) {
    phase_ = Phase::kIdle;
    return;
  }
  // (workers_ is keyed by pid, and pids wrap: the new pid may be smaller.)
  joiner_ = StartWorker();
  ++t_.joins;
  phase_ = Phase::kJoining;
  phase_until_ = now + int64_t{15} * 1000000000;
  joiner_kill_on_ = 0;
  joiner_kill_at_ = 0;
  if (f_.joiner_kill_fraction > 0 &&
      static_cast<double>(rng_.UniformFloat()) < f_.joiner_kill_fraction) {
    // Each stage of a join equally often: starting and registering,
    // waiting to be admitted, receiving the state, and (up to 20 ms after
    // its first sync) connecting for its first all-reduce.
    joiner_kill_on_ = "-RJS"[Uniform(0, 3)];
    if (joiner_kill_on_ == '-') joiner_kill_at_ = now + Uniform(0, 50) * 1000000;
  }
}

void Chaos::MaybeAct(int64_t now) {
  // Chaos starts once the run is under way and stops near its end (so the
  // last replacements still join).
  const bool chaos_allowed = max_step_ >= 1 && max_step_ + 5 < f_.steps;
  switch (phase_) {
    case Phase::kIdle:
      if (now < phase_until_ || !chaos_allowed || master_ < 0) return;
      if (static_cast<double>(rng_.UniformFloat()) < f_.master_kill_fraction) {
        ::kill(master_, SIGKILL);
        Log("killed the master at step " + std::to_string(max_step_));
        phase_ = Phase::kMasterDown;
        const int64_t down_ms = Uniform(100, 800);
        phase_until_ = now + down_ms * 1000000;
        double_kill_at_ = 0;
        if (static_cast<double>(rng_.UniformFloat()) < f_.peer_kill_while_master_down) {
          double_kill_at_ = now + Uniform(10, down_ms - 10) * 1000000;
        }
      } else if (Alive() >= 2) {
        KillPeer(RandomLivePeer());
        phase_ = Phase::kRecovering;
        phase_until_ = now + int64_t{15} * 1000000000;
      }
      return;
    case Phase::kRecovering: {
      bool all = !survivors_.empty();
      int64_t last = 0;
      for (const auto& [pid, t] : survivors_) {
        all = all && t != 0;
        last = std::max(last, t);
      }
      if (!all && now < phase_until_ && !survivors_.empty()) return;
      if (all) {
        recoveries_.back().ms = static_cast<double>(last - kill_time_) * 1e-6;
        Log("recovered in " + std::to_string(recoveries_.back().ms) + " ms");
      } else if (!survivors_.empty()) {
        ++t_.recovery_timeouts;
        std::string waiting;
        for (const auto& [pid, t] : survivors_) {
          if (t == 0) waiting += " " + std::to_string(pid);
        }
        Log("recovery timed out; no step from" + waiting);
      }
      EndRecovery(now);
      return;
    }
    case Phase::kMasterDown:
      if (double_kill_at_ != 0 && now >= double_kill_at_ && Alive() >= 2) {
        double_kill_at_ = 0;
        KillPeer(RandomLivePeer());  // while the master is down: it must notice once back
      }
      if (now < phase_until_ || master_ >= 0) return;
      StartMaster();
      Log("restarted the master");
      ++t_.master_restarts;
      master_restart_time_ = NowNanos();
      if (!survivors_.empty()) {
        recoveries_.back().restart_ms =
            static_cast<double>(master_restart_time_ - kill_time_) * 1e-6;
        phase_ = Phase::kRecovering;
        phase_until_ = now + int64_t{15} * 1000000000;
        return;
      }
      phase_ = Phase::kIdle;
      phase_until_ = now + Uniform(200, 1000) * 1000000;
      return;
    case Phase::kJoining:
      if (joiner_kill_at_ != 0 && now >= joiner_kill_at_ && phase_until_ != 0 && chaos_allowed &&
          Alive() >= 2 && workers_.count(joiner_) > 0 && workers_[joiner_].pid > 0) {
        // The replacement dies before its first step; another one follows.
        joiner_kill_on_ = 0;
        joiner_kill_at_ = 0;
        ++t_.joiner_kills;
        KillPeer(joiner_);
        phase_ = Phase::kRecovering;
        phase_until_ = now + int64_t{15} * 1000000000;
        return;
      }
      if (now < phase_until_) return;
      phase_ = Phase::kIdle;
      phase_until_ = now + Uniform(0, 200) * 1000000;  // a random point of the next step
      return;
  }
}

int Chaos::Run() {
  const int64_t start = NowNanos();
  StartMaster();
  for (int i = 0; i < f_.ranks; ++i) StartWorker();
  last_progress_ = start;
  phase_until_ = start + int64_t{300} * 1000000;
  int64_t next_progress_line = start;
  while (Alive() > 0) {
    std::vector<pollfd> fds;
    std::vector<pid_t> pids;
    for (auto& [pid, w] : workers_) {
      if (w.pid <= 0) continue;
      fds.push_back({w.out, POLLIN, 0});
      pids.push_back(pid);
    }
    ::poll(fds.data(), fds.size(), 10);
    if ((stop_signal_ = StopSignal()) != 0) break;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents) ReadWorker(workers_[pids[i]]);
    }
    Reap();
    const int64_t now = NowNanos();
    MaybeAct(now);
    if (now - last_progress_ > int64_t{f_.hang_seconds} * 1000000000 ||
        now - start > int64_t{f_.max_seconds} * 1000000000) {
      ++t_.hangs;
      break;
    }
    if (!f_.json && now >= next_progress_line) {
      std::fprintf(stderr, "chaos: step %llu/%llu, kills %d, joins %d, master restarts %d\n",
                   static_cast<unsigned long long>(max_step_),
                   static_cast<unsigned long long>(f_.steps), t_.kills, t_.joins,
                   t_.master_restarts);
      next_progress_line = now + 1000000000;
    }
  }
  if (stop_signal_ != 0) {
    const int reaped = StopChildren();
    std::fprintf(stderr, "chaos: interrupted by signal %d at step %llu; killed and reaped %d processes\n",
                 stop_signal_, static_cast<unsigned long long>(max_step_), reaped);
    return 128 + stop_signal_;
  }
  return Report(static_cast<double>(NowNanos() - start) * 1e-9);
}

int Chaos::Report(double seconds) {
  std::vector<std::string> master_logs;
  for (int i = 0; i <= static_cast<int>(workers_.size()); ++i) {
    const std::string path = dir_ + "/master-" + std::to_string(i) + ".log";
    if (std::filesystem::exists(path)) master_logs.push_back(path);
  }
  const ChaosRun run{max_step_, f_.steps, f_.ranks, seconds, f_.json};
  const ChaosVerdict verdict =
      PrintChaosReport(run, t_, after_step_, after_sync_, recoveries_, master_logs);
  if (!verdict.ok || f_.keep_logs) {
    std::fprintf(stderr, "chaos: logs kept in %s\n", dir_.c_str());
    dir_.clear();  // keep them for a post-mortem
  }
  return verdict.ok ? 0 : 1;
}

int Chaos::StopChildren() {
  std::vector<pid_t> pids{master_};
  for (auto& [pid, w] : workers_) {
    if (w.pid <= 0) continue;
    pids.push_back(w.pid);
    ::close(w.out);
    w.pid = -1;
  }
  master_ = -1;
  return KillAndReapAll(pids);
}

void Chaos::Cleanup() {
  StopChildren();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

}  // namespace

int RunChaos(const ChaosFlags& f) {
  CatchStopSignals();  // Ctrl-C: kill and reap the children, then exit
  Chaos chaos(f);
  if (Status s = chaos.Setup(); !s.ok()) return Fail(s);
  return chaos.Run();
}

}  // namespace tern::cli
