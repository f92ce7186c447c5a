// `tern linkem`: a userspace TCP proxy that emulates a WAN link (delay and
// rate per direction) for rehearsals on kernels without netem.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "command.h"
#include "net/linkem.h"

namespace tern::cli {
namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }  // only sets a flag (STYLE.md)

struct LinkemFlags {
  net::LinkemOptions o;
  double queue_kib = 0;
  double stats_every_s = 0;
  double duration_s = 0;
};

int RunLinkem(const LinkemFlags& f) {
  net::LinkemOptions o = f.o;
  o.queue_bytes = static_cast<size_t>(f.queue_kib * 1024);
  auto proxy = net::Linkem::Start(o);
  if (!proxy.ok()) return Fail(proxy.status());
  std::fprintf(stderr, "linkem: %s -> %s, +%.1f ms each way, %s\n", (*proxy)->address().c_str(),
               o.to.c_str(), o.delay_ms,
               o.rate_mbit > 0 ? (std::to_string(o.rate_mbit) + " Mbit/s each way").c_str()
                               : "unlimited rate");
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  const auto start = std::chrono::steady_clock::now();
  auto last = start;
  while (!g_stop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto now = std::chrono::steady_clock::now();
    if (f.duration_s > 0 && now - start >= std::chrono::duration<double>(f.duration_s)) break;
    if (f.stats_every_s > 0 && now - last >= std::chrono::duration<double>(f.stats_every_s)) {
      last = now;
      const net::LinkemStats s = (*proxy)->stats();
      std::fprintf(stderr, "linkem: %llu connections, %llu bytes forward, %llu bytes reverse\n",
                   static_cast<unsigned long long>(s.connections),
                   static_cast<unsigned long long>(s.bytes_forward),
                   static_cast<unsigned long long>(s.bytes_reverse));
    }
  }
  (*proxy)->Stop();
  return 0;
}

}  // namespace

TERN_COMMAND(Linkem, "linkem") {
  auto f = std::make_shared<LinkemFlags>();
  CLI::App* cmd = AddCommand(
      root, {"linkem"},
      "Userspace TCP proxy for WAN rehearsal: accepts on --listen, forwards every connection to\n"
      "--to, adds --delay-ms of one-way delay and caps each direction at --rate-mbit (shared by\n"
      "all connections, like one link). Runs until SIGINT/SIGTERM (or --duration).\n"
      "Limits: it terminates TCP on both sides, so it emulates what latency and bandwidth do to\n"
      "an algorithm, not TCP's congestion window or slow start over a long path; it cannot drop,\n"
      "reorder or corrupt packets (no loss emulation). Use tc tbf for kernel-side shaping.",
      [f] { return RunLinkem(*f); });
  cmd->add_option("--listen", f->o.listen, "HOST:PORT to accept on (port 0 picks one)")->required();
  cmd->add_option("--to", f->o.to, "HOST:PORT to forward to")->required();
  cmd->add_option("--delay-ms", f->o.delay_ms, "one-way delay added in each direction")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--rate-mbit", f->o.rate_mbit, "rate cap per direction in Mbit/s (0: none)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--queue-kib", f->queue_kib,
                  "bytes queued per direction before pushing back (0: 2x delay*rate, >= 4 MiB)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--stats-every", f->stats_every_s, "print byte counters every N seconds");
  cmd->add_option("--duration", f->duration_s, "stop after N seconds (0: run until signalled)");
}

}  // namespace tern::cli
