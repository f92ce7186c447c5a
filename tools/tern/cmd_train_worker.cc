// `tern train --master HOST:PORT`: this process is one worker of a run whose
// master runs elsewhere (multi-host), or one the local launcher spawned
// (then its events go to fd 3). In multi-host runs rank 0 prints the
// summary table of the whole run from the totals every worker sends it at
// the end.
#ifdef TERN_HAVE_TRAIN_RUN
#include <cstdio>
#include <string>

#include "command.h"
#include "train/child_process.h"
#include "train/host_address.h"
#include "train/report.h"
#include "train/run_monitor.h"
#include "train/worker.h"
#include "util/clock.h"

namespace tern::cli {
namespace {

// Renders events for a person and feeds them to a RunMonitor, which turns
// rank 0's evaluations and the gathered totals into the run's report.
class ConsoleAndMonitor : public train::EventSink {
 public:
  explicit ConsoleAndMonitor(train::RunMonitor* m) : monitor_(m) {}
  void Emit(const train::WorkerEvent& e) override {
    console_.Emit(e);
    if (e.event != "done") monitor_->OnEvent(e.slot, /*process=*/e.slot, e, NowSeconds());
  }

 private:
  train::ConsoleEventSink console_;
  train::RunMonitor* monitor_;
};

Result<MasterWorldOptions> PeerOptions(const std::string& master, const std::string& secret_file,
                                       uint64_t run_id, const std::string& listen_host,
                                       const std::string& advertise_host) {
  MasterWorldOptions o;
  o.master_address = master;
  o.run_id = run_id;
  if (!secret_file.empty()) {
    TERN_ASSIGN_OR_RETURN(o.secret, ReadSecretFile(secret_file));
  }
  TERN_ASSIGN_OR_RETURN(auto hp, train::SplitHostPort(master));
  if (!listen_host.empty()) {
    o.listen_host = listen_host;
  } else if (!train::IsLoopbackHost(hp.first)) {
    o.listen_host = "0.0.0.0";
  }
  o.advertise_host = advertise_host;
  if (o.advertise_host.empty() && o.listen_host == "0.0.0.0") {
    TERN_ASSIGN_OR_RETURN(o.advertise_host, train::LocalAddressToward(master));
  }
  return o;
}

// Returns the exit code: non-zero if the parity check failed (or not every
// worker's hashes arrived) or --json could not be written.
int PrintWorldSummary(const train::RunConfig& c, train::RunMonitor& monitor,
                      const train::WorkerOutcome& out, const std::string& json_path) {
  for (const train::WorkerEvent& e : out.world) {
    monitor.OnEvent(e.slot, /*process=*/e.slot, e, NowSeconds());
  }
  train::RunReport r = monitor.Report();
  const train::ParitySummary p = monitor.Parity();
  std::printf("\n%s\n", train::FormatParity(c.strategy, p).c_str());
  std::vector<train::RunReport> runs = {r};
  std::printf("%s", train::SummaryMarkdown(runs, "ddp").c_str());
  std::fflush(stdout);
  if (!json_path.empty()) {
    if (Status s = train::WriteSummaryJson(json_path, runs); !s.ok()) return Fail(s);
  }
  if (Status s = monitor.Verdict(); !s.ok()) return Fail(s);
  return 0;
}

}  // namespace

int RunTrainWorker(const train::RunConfig& config, const std::string& master,
                   const std::string& secret_file, uint64_t run_id, int rank,
                   const std::string& listen_host, const std::string& advertise_host,
                   bool launched, bool join_gate, const std::string& json_path) {
  train::WorkerOptions wo;
  wo.config = config;
  wo.slot = rank;
  wo.join_gate = join_gate;
  Result<MasterWorldOptions> peer =
      PeerOptions(master, secret_file, run_id, listen_host, advertise_host);
  if (!peer.ok()) return Fail(peer.status());
  wo.master = *peer;
  train::FdEventSink to_launcher(train::kChildEventsFd);
  train::RunMonitor monitor(config);
  ConsoleAndMonitor console(&monitor);
  train::EventSink* sink = launched ? static_cast<train::EventSink*>(&to_launcher) : &console;
  Result<train::WorkerOutcome> out = train::RunWorker(wo, sink);
  if (!out.ok()) {
    train::WorkerEvent e;
    e.event = "error";
    e.slot = rank;
    e.message = out.status().ToString();
    e.code = static_cast<int>(out.status().code());
    sink->Emit(e);
    return Fail(out.status());
  }
  if (!launched && out->is_rank0) return PrintWorldSummary(config, monitor, *out, json_path);
  return 0;
}

}  // namespace tern::cli

#endif  // TERN_HAVE_TRAIN_RUN
