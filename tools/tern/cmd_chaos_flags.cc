// The `tern chaos` command: its help text and CLI11 options. The run itself
// is in cmd_chaos.cc.
#include "cmd_chaos_flags.h"

#include <memory>

#include "command.h"

TERN_COMMAND(Chaos, "chaos") {
  auto f = std::make_shared<tern::cli::ChaosFlags>();
  CLI::App* cmd = tern::cli::AddCommand(
      root, {"chaos"},
      "Run a synthetic training loop (all-reduce and shared-state sync every step) while "
      "killing and restarting peers and the master at random; report divergence, hangs and "
      "recovery times. Exits 1 (and says why in one line) on a divergent step, a hang, a "
      "survivor that did not step again within 15 s of a kill, a peer error, or a run that "
      "stopped short; the --json line carries \"verdict\" (ok/fail) and \"failures\". "
      "SIGINT/SIGTERM kill and reap every peer and the master (exit 128 + signal).",
      [f] { return tern::cli::RunChaos(*f); });
  cmd->add_option("--ranks", f->ranks, "peers kept running")->capture_default_str()
      ->check(CLI::Range(2, 64));
  cmd->add_option("--steps", f->steps, "training steps")->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--seed", f->seed, "seed of the chaos schedule and the gradients")
      ->capture_default_str();
  cmd->add_option("--numel", f->numel, "fp32 elements all-reduced per step")
      ->capture_default_str()->check(CLI::Range(1, 1 << 26));
  cmd->add_option("--compute-ms", f->compute_ms, "simulated compute per step")
      ->capture_default_str()->check(CLI::Range(0, 60000));
  cmd->add_option("--master-kill-fraction", f->master_kill_fraction,
                  "share of chaos events that kill the master")->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--peer-kill-while-master-down", f->peer_kill_while_master_down,
                  "share of master kills during which a peer is killed too (it never "
                  "re-registers: the restarted master must notice)")
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--joiner-kill-fraction", f->joiner_kill_fraction,
                  "share of replacements killed during their join (before their first step)")
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--hang-seconds", f->hang_seconds, "no progress this long is a hang")
      ->capture_default_str()->check(CLI::Range(1, 3600));
  cmd->add_option("--max-seconds", f->max_seconds, "give up (as a hang) after this long")
      ->capture_default_str()->check(CLI::Range(1, 86400));
  cmd->add_flag("--json", f->json, "one JSON line on stdout");
  cmd->add_flag("--keep-logs", f->keep_logs, "keep the peers' and master's logs and events.log");
}
