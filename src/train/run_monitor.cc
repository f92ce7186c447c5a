#include "train/run_monitor.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "util/format.h"

namespace tern::train {
std::string FormatParity(const std::string& strategy, const ParitySummary& p) {
  std::string out = strategy + ": replicated state " +
                    (p.state_hashes_match ? "bit-identical" : "DIFFERS") + " on " +
                    std::to_string(p.workers_finished) + " workers; global parameters " +
                    (p.params_hashes_match ? "identical" : "differ");
  if (!p.params_hashes_match && strategy == "noloco") out += " (per-peer by design)";
  return out;
}

Status CheckParity(const std::string& strategy, const ParitySummary& p, int expected) {
  if (p.workers_finished < expected) {
    return DataLossError("parity check failed: only " + std::to_string(p.workers_finished) +
                         " of " + std::to_string(expected) +
                         " workers reported their state hashes at the end");
  }
  if (!p.state_hashes_match) {
    return DataLossError("parity check failed: " + strategy +
                         " replicated state differs across the " +
                         std::to_string(p.workers_finished) + " workers");
  }
  if (!p.params_hashes_match && strategy != "noloco") {
    return DataLossError("parity check failed: " + strategy +
                         " global parameters differ across the " +
                         std::to_string(p.workers_finished) + " workers");
  }
  return OkStatus();
}

std::string FormatChaos(const ChaosSummary& c, const ParitySummary& p) {
  auto seconds = [](double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f s", s);
    return s < 0 ? std::string("never") : std::string(buf);
  };
  const bool recovered = c.kills > 0 && c.joins >= c.kills && p.state_hashes_match;
  return "chaos: " + std::to_string(c.kills) + " worker killed, " + std::to_string(c.joins) +
         " replacement joined; failure handled after " + seconds(c.detect_seconds) +
         ", replacement training after " + seconds(c.recovery_seconds) + "; " +
         (recovered ? "recovered"
                    : "NOT recovered (a replacement that starts after the run's end is stopped)");
}

RunMonitor::RunMonitor(const RunConfig& config)
    : config_(config), label_(DescribeStrategy(config)) {}

void RunMonitor::OnEvent(int slot, int process, const WorkerEvent& e, double now) {
  Process& p = procs_[process];
  p.slot = slot;
  if (e.event == "started") {
    p.started = true;
    p.last = e;
    if (first_start_ < 0) first_start_ = now;
  } else if (e.event == "step") {
    p.last = e;
    p.loss = e.loss;
    max_step_ = std::max(max_step_, e.step);
    if (e.mark) marks_[e.step].push_back(e.bytes_sent);
  } else if (e.event == "eval") {
    evals_.push_back(e);
  } else if (e.event == "safepoint") {
    p.last.rank = e.rank;
    if (kill_time_ >= 0 && e.joined) {
      ++chaos_.joins;
      if (chaos_.recovery_seconds < 0) chaos_.recovery_seconds = now - kill_time_;
    } else if (kill_time_ >= 0) {
      ++chaos_.safe_points;
      if (chaos_.detect_seconds < 0) chaos_.detect_seconds = now - kill_time_;
    }
  } else if (e.event == "done") {
    p.done = true;
    p.last = e;
    done_[process] = e;
    max_step_ = std::max(max_step_, e.step);
  } else if (e.event == "error") {
    const int code = e.code > 0 && e.code <= 15 ? e.code : static_cast<int>(StatusCode::kInternal);
    p.error = Status(static_cast<StatusCode>(code), e.message);
  }
}

void RunMonitor::OnKill(int process, double now) {
  ++chaos_.kills;
  kill_time_ = now;
  procs_[process].error = AbortedError("killed by --chaos");
}

int RunMonitor::RankOf(int process) const {
  auto it = procs_.find(process);
  return it == procs_.end() ? -1 : it->second.last.rank;
}
bool RunMonitor::Started(int process) const {
  auto it = procs_.find(process);
  return it != procs_.end() && it->second.started;
}
bool RunMonitor::Done(int process) const {
  auto it = procs_.find(process);
  return it != procs_.end() && it->second.done;
}
Status RunMonitor::LastError(int process) const {
  auto it = procs_.find(process);
  return it == procs_.end() ? OkStatus() : it->second.error;
}

std::string RunMonitor::ProgressLine(double now) const {
  double loss = 0, bytes = 0;
  int64_t samples = 0;
  int live = 0;
  for (const auto& [id, p] : procs_) {
    samples += p.last.samples;
    if (!p.started || !p.error.ok()) continue;
    ++live;
    loss += p.loss;
    bytes += static_cast<double>(p.last.bytes_sent);
  }
  char buf[256];
  const double elapsed = first_start_ >= 0 ? now - first_start_ : 0;
  std::string acc = "-";
  if (!evals_.empty()) {
    std::snprintf(buf, sizeof buf, "%.4f", evals_.back().accuracy);
    acc = buf;
  }
  std::snprintf(buf, sizeof buf,
                "[%s] step %lld/%lld  loss %.4f  acc %s  sent %s/worker  %.0f samples/s  "
                "%d/%d workers  %.1f s",
                label_.c_str(), static_cast<long long>(max_step_),
                static_cast<long long>(config_.steps), live ? loss / live : 0.0, acc.c_str(),
                HumanBytes(live ? bytes / live : 0).c_str(), elapsed > 0 ? samples / elapsed : 0.0,
                live, config_.workers, elapsed);
  return buf;
}

RunReport RunMonitor::Report() const {
  RunReport r;
  r.strategy = config_.strategy;
  uint64_t total_bytes = 0;
  for (const auto& [id, p] : procs_) {
    total_bytes += p.last.bytes_sent;
    r.peak_message_bytes = std::max(r.peak_message_bytes, p.last.peak_message_bytes);
  }
  r.bytes_per_worker = total_bytes / static_cast<uint64_t>(config_.workers);
  for (const auto& [id, d] : done_) {
    if (d.rank == 0) r.wall_seconds = d.wall;
  }
  for (const WorkerEvent& e : evals_) {
    EvalRecord rec;
    rec.step = e.step;
    rec.samples = e.step * config_.batch * config_.workers;
    rec.wall_seconds = e.final ? r.wall_seconds : e.wall;
    rec.bytes_sent_per_worker = e.final ? r.bytes_per_worker : e.bytes_sent;
    auto m = marks_.find(e.step);
    if (!e.final && m != marks_.end() && !m->second.empty()) {
      uint64_t sum = 0;
      for (uint64_t b : m->second) sum += b;
      rec.bytes_sent_per_worker = sum / m->second.size();
    }
    rec.test_accuracy = e.accuracy;
    rec.test_loss = e.loss;
    r.evals.push_back(rec);
    if (e.final) r.test_accuracy = e.accuracy;
  }
  r.config_json = RunConfigToJson(ResolvedRunConfig(config_));
  if (!done_.empty()) r.strategy_config = done_.begin()->second.message;
  const ParitySummary p = Parity();
  r.parity_checked = true;
  r.parity_ok = Verdict().ok();
  r.state_identical = p.state_hashes_match;
  r.params_identical = p.params_hashes_match;
  r.workers_finished = p.workers_finished;
  return r;
}

ParitySummary RunMonitor::Parity() const {
  ParitySummary s;
  std::set<uint64_t> state, params;
  for (const auto& [id, d] : done_) {
    state.insert(d.state_hash);
    params.insert(d.params_hash);
  }
  s.workers_finished = static_cast<int>(done_.size());
  s.state_hashes_match = state.size() == 1;
  s.params_hashes_match = params.size() == 1;
  return s;
}

Status RunMonitor::Verdict() const {
  const int unreplaced = std::max(0, chaos_.kills - chaos_.joins);
  return CheckParity(config_.strategy, Parity(), config_.workers - unreplaced);
}

}  // namespace tern::train
