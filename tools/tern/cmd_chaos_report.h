// What `tern chaos` (cmd_chaos.cc) records about each recovery, and how it
// explains the slow ones: the victim, when it was killed relative to master
// restarts, and why the master dropped it (read back from the master's
// logs, which print every drop with its reason); and the report it prints
// at the end of a run.
#ifndef TERN_TOOLS_TERN_CMD_CHAOS_REPORT_H_
#define TERN_TOOLS_TERN_CMD_CHAOS_REPORT_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace tern::cli {

struct ChaosRecovery {
  double kill_ms = 0;       // since the run started
  uint64_t step = 0;        // the highest step reported at the kill
  uint64_t peer = 0;        // the victim's peer id (0: it never reported one)
  bool master_down = false;  // killed while the master was down
  bool joining = false;      // a replacement killed before its first step
  double restart_ms = -1;    // master_down: from the kill to the master's restart
  // Since the last master restart (-1: none yet) at the kill.
  double since_master_restart_ms = -1;
  double ms = -1;           // until every survivor stepped again; -1: timed out
  std::string cause;        // why the master dropped the victim
};

// "master: dropped peer N (member): REASON" lines of these logs, in order;
// the last reason per peer id wins (a dead peer is dropped once more at most).
std::map<uint64_t, std::string> ReadDropReasons(const std::vector<std::string>& log_paths);

// REASON with numbers (ids, addresses, milliseconds) replaced by "N", so
// recoveries can be counted by cause.
std::string NormalizeReason(const std::string& reason);

// {"recovery_causes": {cause: count}, "slow_recoveries": [...]} where slow
// means at least `slow_ms` or timed out.
nlohmann::json RecoveryDetails(const std::vector<ChaosRecovery>& recoveries, double slow_ms);

// What a run found, and whether it passed.
struct ChaosOutcome {
  uint64_t steps = 0;         // the highest step any peer completed
  uint64_t steps_wanted = 0;
  size_t divergent_steps = 0;
  int hangs = 0;
  int recovery_timeouts = 0;  // a survivor made no step within 15 s of a kill
  int worker_errors = 0;      // a peer exited with an error
};
struct ChaosVerdict {
  bool ok = true;
  std::vector<std::string> failures;  // one phrase each, e.g. "2 divergent steps"
  std::string line;                   // "chaos: ok ..." or "chaos: FAILED: ..."
};
ChaosVerdict Judge(const ChaosOutcome& o);

// Counts of a chaos run, as reported.
struct ChaosTally {
  int kills = 0, joins = 0, master_restarts = 0, hangs = 0, failures = 0;
  int worker_errors = 0, recovery_timeouts = 0, joiner_kills = 0;
};

// (step, revision) -> hashes seen: more than one is a divergence.
using ChaosHashes = std::map<std::pair<uint64_t, uint64_t>, std::set<std::string>>;

// What the report needs besides the tally.
struct ChaosRun {
  uint64_t steps = 0;         // the highest step reported
  uint64_t steps_wanted = 0;  // --steps
  int ranks = 0;
  double seconds = 0;
  bool json = false;          // one JSON line (else indented JSON)
};

// Sets each recovery's cause from the master's logs, prints the report
// (JSON on stdout, the verdict line on stderr) and returns the verdict.
ChaosVerdict PrintChaosReport(const ChaosRun& run, const ChaosTally& t,
                              const ChaosHashes& after_step, const ChaosHashes& after_sync,
                              std::vector<ChaosRecovery>& recoveries,
                              const std::vector<std::string>& master_logs);

}  // namespace tern::cli

#endif  // TERN_TOOLS_TERN_CMD_CHAOS_REPORT_H_
