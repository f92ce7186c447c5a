// The flags of `tern chaos` (registered in cmd_chaos_flags.cc) and the entry
// point that runs a chaos session with them (cmd_chaos.cc).
#ifndef TERN_TOOLS_TERN_CMD_CHAOS_FLAGS_H_
#define TERN_TOOLS_TERN_CMD_CHAOS_FLAGS_H_

#include <cstddef>
#include <cstdint>

namespace tern::cli {

struct ChaosFlags {
  int ranks = 4;
  uint64_t steps = 50;
  uint64_t seed = 1;
  size_t numel = 1 << 18;
  int compute_ms = 20;
  double master_kill_fraction = 0.25;
  double peer_kill_while_master_down = 0;
  double joiner_kill_fraction = 0;
  int max_seconds = 600;
  int hang_seconds = 30;
  bool json = false;
  bool keep_logs = false;
};

// Runs `tern chaos` with these flags; returns the process exit code.
int RunChaos(const ChaosFlags& f);

}  // namespace tern::cli

#endif  // TERN_TOOLS_TERN_CMD_CHAOS_FLAGS_H_
