// `tern master`: the control plane's master as its own process
// (tern/master.h; docs/membership_protocol.md).
#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "command.h"
#include "tern/master.h"

namespace tern::cli {
namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }  // only sets a flag (STYLE.md)

struct MasterFlags {
  std::string listen = "0.0.0.0:48150";
  int listen_fd = -1;
  std::string secret_file;
  bool insecure = false;
  bool tls = false;
  std::string state_dir;
  uint64_t run_id = 1;
  int heartbeat_ms = 500;
  int heartbeat_timeout_ms = 3000;
  int min_peers = 1;
  std::string address_file;
  bool json = false;
};

void PrintStatus(const MasterSnapshot& s, bool json) {
  if (json) {
    nlohmann::json j = {{"event", "revision"},        {"revision", s.revision},
                        {"committed", s.committed},   {"members", s.members.size()},
                        {"pending", s.pending.size()}, {"peers_dropped", s.peers_dropped},
                        {"auth_failures", s.auth_failures}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("tern master: revision %llu%s, %zu members, %zu pending\n",
                static_cast<unsigned long long>(s.revision), s.committed ? "" : " (adopting)",
                s.members.size(), s.pending.size());
  }
  std::fflush(stdout);
}

int RunMaster(const MasterFlags& f) {
  MasterOptions o;
  o.listen_address = f.listen;
  o.listen_fd = f.listen_fd;
  o.insecure = f.insecure;
  o.tls = f.tls;
  o.state_dir = f.state_dir;
  o.run_id = f.run_id;
  o.heartbeat_interval = std::chrono::milliseconds(f.heartbeat_ms);
  o.heartbeat_timeout = std::chrono::milliseconds(f.heartbeat_timeout_ms);
  o.min_peers = f.min_peers;
  if (!f.secret_file.empty()) {
    Result<std::string> secret = ReadSecretFile(f.secret_file);
    if (!secret.ok()) return Fail(secret.status());
    o.secret = *secret;
  }
  Result<std::unique_ptr<Master>> master = Master::Start(o);
  if (!master.ok()) return Fail(master.status());
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  if (!f.address_file.empty()) {
    // Write then rename, so a reader never sees half an address.
    const std::string tmp = f.address_file + ".tmp";
    std::ofstream(tmp) << (*master)->address() << "\n";
    std::rename(tmp.c_str(), f.address_file.c_str());
  }
  if (f.json) {
    nlohmann::json j = {{"event", "listening"},
                        {"address", (*master)->address()},
                        {"run_id", (*master)->run_id()}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("tern master: listening on %s (run %llu%s)\n", (*master)->address().c_str(),
                static_cast<unsigned long long>((*master)->run_id()),
                f.insecure ? ", INSECURE: no secret" : "");
  }
  std::fflush(stdout);
  MasterSnapshot last;
  last.revision = ~uint64_t{0};
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    MasterSnapshot s = (*master)->Snapshot();
    if (s.revision != last.revision || s.committed != last.committed ||
        s.pending.size() != last.pending.size()) {
      PrintStatus(s, f.json);
      last = s;
    }
  }
  return 0;
}

}  // namespace
}  // namespace tern::cli

TERN_COMMAND(Master, "master") {
  auto f = std::make_shared<tern::cli::MasterFlags>();
  CLI::App* cmd = tern::cli::AddCommand(
      root, {"master"},
      "Run the control-plane master of a run: membership, revisions, shared-state sync. "
      "Peers connect with the run id and prove they know the secret. Stops on SIGINT/SIGTERM.",
      [f] { return tern::cli::RunMaster(*f); });
  cmd->add_option("--listen", f->listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  cmd->add_option("--listen-fd", f->listen_fd,
                  "use this inherited, already listening socket instead of --listen");
  cmd->add_option("--secret-file", f->secret_file,
                  "file holding the run secret (at least 16 bytes)")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--insecure", f->insecure, "run without a secret (loopback tests only)");
  cmd->add_flag("--tls", f->tls, "TLS 1.3 on every control connection (peers must use it too)");
  cmd->add_option("--state-dir", f->state_dir,
                  "persist the run's view here so a restarted master resumes it");
  cmd->add_option("--run-id", f->run_id, "the run this master serves")->capture_default_str();
  cmd->add_option("--heartbeat-ms", f->heartbeat_ms, "heartbeat interval")->capture_default_str()
      ->check(CLI::Range(1, 60000));
  cmd->add_option("--heartbeat-timeout-ms", f->heartbeat_timeout_ms,
                  "drop a peer silent this long")->capture_default_str()
      ->check(CLI::Range(2, 600000));
  cmd->add_option("--min-peers", f->min_peers, "peers the first revision waits for")
      ->capture_default_str()->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--address-file", f->address_file,
                  "write the bound HOST:PORT here once listening (for scripts)");
  cmd->add_flag("--json", f->json, "print events as JSON lines");
}
