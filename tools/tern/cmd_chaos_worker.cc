// The peer process of `tern chaos` (cmd_chaos.cc starts it as
// `tern chaos-worker`, a hidden command): a synthetic training loop that
// joins through the master, all-reduces a gradient and syncs the
// replicated state every step, and reports to the orchestrator on stdout:
//
//   R <peer id>                           registered with the master (pending)
//   J <peer id>                           joined (admitted into a revision)
//   S <step> <revision> <state hash>      after every successful sync
//   D <step> <revision> <state hash> <t>  after every applied step (t: CLOCK_MONOTONIC ns)
//   F <step> <status code>                a failed all-reduce (the step is retried)
//   X                                     finished all steps and left
#include <cstdio>
#include <thread>

#include "command.h"
#include "tern/communicator.h"
#include "tern/master.h"
#include "tern/shared_state.h"
#include "util/clock.h"
#include "util/logging.h"
#include "util/philox.h"

namespace tern::cli {
namespace {

using std::chrono::milliseconds;

struct WorkerFlags {
  std::string master;
  std::string secret_file;
  uint64_t run_id = 1;
  size_t numel = 1 << 18;
  uint64_t steps = 200;
  uint64_t seed = 1;
  int compute_ms = 20;
  std::string listen_host = "127.0.0.1";
  bool trace = false;  // a timeline on stderr (the driver keeps it with --keep-logs)
};

void Emit(const std::string& line) {
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

// "<CLOCK_MONOTONIC ms> <what>" on stderr, to explain slow recoveries.
void Trace(const WorkerFlags& f, const std::string& what) {
  if (f.trace) std::fprintf(stderr, "%.3f %s\n", static_cast<double>(NowNanos()) * 1e-6, what.c_str());
}

std::string Str(uint64_t v) { return std::to_string(v); }

// The gradient of a peer at a step: uniform in [-1, 1) with 24-bit values,
// from (seed, step, peer id), the same on any host.
void FillGradient(uint64_t seed, uint64_t step, uint64_t peer, std::vector<float>& g) {
  RngStream rng(seed, RngPurpose::kChaos, step, peer);
  for (float& x : g) x = rng.UniformFloat() * 2.0f - 1.0f;
}

struct Replica {
  std::vector<float> params;
  uint64_t step = 0;
};

int RunWorker(const WorkerFlags& f) {
  Result<std::string> secret = ReadSecretFile(f.secret_file);
  if (!secret.ok()) return Fail(secret.status());
  MasterWorldOptions o;
  o.master_address = f.master;
  o.run_id = f.run_id;
  o.secret = *secret;
  o.listen_host = f.listen_host;
  // MasterWorld::Join, in two steps so the driver learns the peer id of a
  // replacement it kills before admission.
  const Deadline join_deadline = Deadline::AfterMillis(60000);
  auto world = MasterWorld::Connect(o, milliseconds(60000));
  if (!world.ok()) return Fail(world.status());
  SetLogPrefix("peer " + std::to_string((*world)->peer_id()));
  Emit("R " + std::to_string((*world)->peer_id()));
  while ((*world)->View().revision == 0) {
    if (Status s = (*world)->UpdateTopology(milliseconds(join_deadline.RemainingMillisForPoll()));
        !s.ok()) {
      return Fail(s);
    }
  }
  Emit("J " + std::to_string((*world)->peer_id()));
  CommunicatorOptions co;
  co.streams = 1;
  co.connect_timeout = milliseconds(5000);
  auto comm = Communicator::Create(world->get(), co);
  if (!comm.ok()) return Fail(comm.status());
  auto state = SharedState::Create(world->get());
  if (!state.ok()) return Fail(state.status());
  Replica r;
  r.params.resize(f.numel);
  for (size_t i = 0; i < f.numel; ++i) r.params[i] = static_cast<float>(i % 97) * 0.01f;
  if (Status s = (*state)->RegisterTensor("params", TensorView::Of(r.params)); !s.ok()) return Fail(s);
  if (Status s = (*state)->RegisterU64("step", &r.step); !s.ok()) return Fail(s);
  std::vector<float> grad(f.numel);
  MasterWorld& w = **world;
  bool need_update = false;
  while (r.step < f.steps) {
    Result<bool> pending = w.PeersPending(milliseconds(0));
    if (need_update || w.AnnouncedRevision() > w.View().revision || (pending.ok() && *pending)) {
      Trace(f, "update from " + Str(w.View().revision) + " (announced " +
                   Str(w.AnnouncedRevision()) + ")");
      if (Status s = w.UpdateTopology(milliseconds(20000)); !s.ok()) {
        Trace(f, "update: " + s.ToString());
        std::this_thread::sleep_for(milliseconds(20));
        continue;
      }
      need_update = false;
    }
    Trace(f, "sync at " + Str(w.View().revision));
    Result<SyncReport> sync = (*state)->SyncSharedState(milliseconds(20000));
    if (!sync.ok()) {
      Trace(f, "sync: " + sync.status().ToString());
      need_update = true;
      std::this_thread::sleep_for(milliseconds(20));
      continue;
    }
    Emit("S " + std::to_string(r.step) + " " + std::to_string(sync->revision) + " " +
         std::to_string(sync->state_hash));
    if (r.step >= f.steps) break;
    FillGradient(f.seed, r.step, w.peer_id(), grad);
    std::this_thread::sleep_for(milliseconds(f.compute_ms));  // stands in for compute
    AllReduceOptions ao;
    ao.op = ReduceOp::kAvg;
    ao.timeout = milliseconds(10000);
    ao.tag = static_cast<uint32_t>(r.step);
    Trace(f, "all-reduce step " + Str(r.step) + " at " + Str(w.View().revision));
    if (Status s = (*comm)->AllReduce(TensorView::Of(grad), ao); !s.ok()) {
      Trace(f, "all-reduce: " + s.ToString());
      Emit("F " + std::to_string(r.step) + " " + std::to_string(static_cast<int>(s.code())));
      need_update = true;
      continue;
    }
    for (size_t i = 0; i < f.numel; ++i) r.params[i] -= 0.01f * grad[i];
    ++r.step;
    Emit("D " + std::to_string(r.step) + " " + std::to_string(w.View().revision) + " " +
         std::to_string((*state)->StateHash()) + " " + std::to_string(NowNanos()));
  }
  w.Leave(milliseconds(5000)).IgnoreError();
  Emit("X");
  return 0;
}

}  // namespace
}  // namespace tern::cli

TERN_COMMAND(ChaosWorker, "zz chaos-worker") {
  auto f = std::make_shared<tern::cli::WorkerFlags>();
  CLI::App* cmd = tern::cli::AddCommand(root, {"chaos-worker"},
                                        "One peer of `tern chaos` (started by it)",
                                        [f] { return tern::cli::RunWorker(*f); });
  cmd->group("");  // hidden from --help
  cmd->add_option("--master", f->master)->required();
  cmd->add_option("--secret-file", f->secret_file)->required();
  cmd->add_option("--run-id", f->run_id);
  cmd->add_option("--numel", f->numel);
  cmd->add_option("--steps", f->steps);
  cmd->add_option("--seed", f->seed);
  cmd->add_option("--compute-ms", f->compute_ms);
  cmd->add_option("--listen-host", f->listen_host);
  cmd->add_flag("--trace", f->trace);
}
