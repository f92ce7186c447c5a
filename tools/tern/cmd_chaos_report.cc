#include "cmd_chaos_report.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>

namespace tern::cli {

std::map<uint64_t, std::string> ReadDropReasons(const std::vector<std::string>& log_paths) {
  static const std::string kMarker = "master: dropped peer ";
  std::map<uint64_t, std::string> reasons;
  for (const std::string& path : log_paths) {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
      const size_t at = line.find(kMarker);
      if (at == std::string::npos) continue;
      size_t pos = at + kMarker.size();
      uint64_t id = 0;
      bool digits = false;
      for (; pos < line.size() && std::isdigit(static_cast<unsigned char>(line[pos])); ++pos) {
        id = id * 10 + static_cast<uint64_t>(line[pos] - '0');
        digits = true;
      }
      const size_t colon = line.find("): ", pos);
      if (!digits || colon == std::string::npos) continue;
      reasons[id] = line.substr(colon + 3);
    }
  }
  return reasons;
}

std::string NormalizeReason(const std::string& reason) {
  std::string out;
  for (size_t i = 0; i < reason.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(reason[i]))) {
      while (i + 1 < reason.size() &&
             (std::isdigit(static_cast<unsigned char>(reason[i + 1])) ||
              ((reason[i + 1] == '.' || reason[i + 1] == ':') && i + 2 < reason.size() &&
               std::isdigit(static_cast<unsigned char>(reason[i + 2]))))) {
        ++i;
      }
      out += 'N';
    } else {
      out += reason[i];
    }
  }
  return out;
}

nlohmann::json RecoveryDetails(const std::vector<ChaosRecovery>& recoveries, double slow_ms) {
  nlohmann::json causes = nlohmann::json::object();
  nlohmann::json slow = nlohmann::json::array();
  for (const ChaosRecovery& r : recoveries) {
    const std::string cause = r.cause.empty() ? "unknown" : NormalizeReason(r.cause);
    causes[cause] = causes.value(cause, 0) + 1;
    if (r.ms >= 0 && r.ms < slow_ms) continue;
    slow.push_back({{"kill_ms", r.kill_ms},
                    {"step", r.step},
                    {"peer", r.peer},
                    {"ms", r.ms},
                    {"master_down", r.master_down},
                    {"joining", r.joining},
                    {"restart_ms", r.restart_ms},
                    {"since_master_restart_ms", r.since_master_restart_ms},
                    {"cause", r.cause.empty() ? "unknown" : r.cause}});
  }
  return {{"recovery_causes", causes}, {"slow_recoveries", slow}};
}

ChaosVerdict Judge(const ChaosOutcome& o) {
  ChaosVerdict v;
  auto fail = [&v](uint64_t n, const std::string& what) {
    if (n > 0) v.failures.push_back(std::to_string(n) + " " + what);
  };
  fail(o.divergent_steps, o.divergent_steps == 1 ? "divergent step" : "divergent steps");
  fail(static_cast<uint64_t>(o.hangs), o.hangs == 1 ? "hang" : "hangs");
  fail(static_cast<uint64_t>(o.recovery_timeouts),
       "recoveries timed out (a survivor made no step within 15 s of a kill)");
  fail(static_cast<uint64_t>(o.worker_errors), "peer processes exited with an error");
  if (o.hangs == 0 && o.steps < o.steps_wanted) {
    v.failures.push_back("the run stopped at step " + std::to_string(o.steps) + " of " +
                         std::to_string(o.steps_wanted));
  }
  v.ok = v.failures.empty();
  if (v.ok) {
    v.line = "chaos: ok: " + std::to_string(o.steps) + " steps, 0 divergent steps, 0 hangs";
    return v;
  }
  v.line = "chaos: FAILED:";
  for (size_t i = 0; i < v.failures.size(); ++i) v.line += (i ? "; " : " ") + v.failures[i];
  return v;
}

namespace {

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

}  // namespace

ChaosVerdict PrintChaosReport(const ChaosRun& run, const ChaosTally& t,
                              const ChaosHashes& after_step, const ChaosHashes& after_sync,
                              std::vector<ChaosRecovery>& recoveries,
                              const std::vector<std::string>& master_logs) {
  const std::map<uint64_t, std::string> reasons = ReadDropReasons(master_logs);
  std::vector<double> recovery_ms;
  for (ChaosRecovery& r : recoveries) {
    auto it = reasons.find(r.peer);
    if (it != reasons.end()) r.cause = it->second;
    if (r.ms >= 0) recovery_ms.push_back(r.ms);
  }
  std::set<uint64_t> divergent;
  for (const auto* groups : {&after_step, &after_sync}) {
    for (const auto& [key, hashes] : *groups) {
      if (hashes.size() > 1) divergent.insert(key.first);
    }
  }
  nlohmann::json j = {{"steps", run.steps},
                      {"kills", t.kills},
                      {"joins", t.joins},
                      {"master_restarts", t.master_restarts},
                      {"divergent_steps", divergent.size()},
                      {"hangs", t.hangs},
                      {"recovery_ms_p50", Percentile(recovery_ms, 0.5)},
                      {"recovery_ms_p99", Percentile(recovery_ms, 0.99)},
                      {"recovery_ms_max", Percentile(recovery_ms, 1.0)},
                      {"recoveries", recovery_ms.size()},
                      {"recovery_timeouts", t.recovery_timeouts},
                      {"failed_collectives", t.failures},
                      {"worker_errors", t.worker_errors},
                      {"ranks", run.ranks},
                      {"seconds", run.seconds}};
  j.update(RecoveryDetails(recoveries, 500.0));
  ChaosOutcome outcome;
  outcome.steps = run.steps;
  outcome.steps_wanted = run.steps_wanted;
  outcome.divergent_steps = divergent.size();
  outcome.hangs = t.hangs;
  outcome.recovery_timeouts = t.recovery_timeouts;
  outcome.worker_errors = t.worker_errors;
  ChaosVerdict verdict = Judge(outcome);
  j["joiner_kills"] = t.joiner_kills;
  j["verdict"] = verdict.ok ? "ok" : "fail";
  j["failures"] = verdict.failures;
  std::printf("%s\n", run.json ? j.dump().c_str() : j.dump(2).c_str());
  std::fprintf(stderr, "%s\n", verdict.line.c_str());
  return verdict;
}

}  // namespace tern::cli
