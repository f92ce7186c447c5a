#include "train/worker.h"

#include <unistd.h>

#include <cerrno>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "tern/communicator.h"
#include "tern/strategy.h"
#include "train/linkem_world.h"
#include "train/partition.h"
#include "train/runtime.h"
#include "train/safe_point.h"
#include "train/strategy_hooks.h"
#include "train/trainer.h"
#include "util/clock.h"
#include "util/hash.h"
#include "util/logging.h"

namespace tern::train {
namespace {

using std::chrono::milliseconds;

// How often a worker reports progress between marks.
constexpr double kStepEventSeconds = 0.25;
// Hook failures in a row (each followed by a safe point) before giving up.
constexpr int kMaxConsecutiveFailures = 20;

Result<std::unique_ptr<Trainer>> MakeTrainer(const RunConfig& c, int slot) {
  TERN_RETURN_IF_ERROR(InitTrainerRuntime(c.threads).status());
  FashionMnistOptions fo;
  fo.dir = c.data_dir;
  fo.max_train = c.max_train;
  TERN_ASSIGN_OR_RETURN(FashionMnist loaded, LoadFashionMnist(fo));
  auto data = std::make_shared<const FashionMnist>(std::move(loaded));
  SplitSpec split;
  if (c.non_iid > 0) split = {SplitSpec::Kind::kDirichlet, c.non_iid};
  TERN_ASSIGN_OR_RETURN(Shards shards, Partition(split, data->train.labels,
                                                 data->train.num_classes, c.workers, c.seed));
  TrainerOptions o;
  TERN_ASSIGN_OR_RETURN(o.model.kind, ParseModelKind(c.model));
  o.model.mlp_hidden = c.mlp_hidden;
  o.model.seed = c.seed;  // every worker starts from the same parameters
  o.batch_size = c.batch;
  o.adamw.weight_decay = c.weight_decay;
  o.schedule = c.cosine ? LrSchedule::Cosine(c.lr, c.warmup, c.steps, c.lr * 0.1f)
                        : LrSchedule::Constant(c.lr);
  o.data_seed = c.seed;
  o.data_stream = static_cast<uint64_t>(slot);
  o.eval_samples = c.eval_samples;
  return Trainer::Create(o, data, std::move(shards[static_cast<size_t>(slot)]));
}

// Blocks until the launcher writes a byte on stdin (see join_gate).
Status WaitForGate() {
  char c;
  for (;;) {
    ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n == 1) return OkStatus();
    if (n < 0 && errno == EINTR) continue;
    return CancelledError("the launcher closed the join gate");
  }
}

class WorkerRun {
 public:
  WorkerRun(const WorkerOptions& o, EventSink* sink) : o_(o), c_(o.config), sink_(sink) {}

  Status Setup();
  Status Train();
  Result<WorkerOutcome> Finish();

 private:
  WorkerEvent Event(const char* kind);
  double Wall() const { return NowSeconds() - t0_ - eval_seconds_; }
  Status SafePointNow();
  // One safe point and its event; the members of the revision it ended on.
  Result<int> OneSafePoint();
  // Runs `hook` until it succeeds, reaching a safe point after each
  // retryable failure.
  Status WithRetry(const std::function<Status()>& hook);
  Status Evaluate(int64_t samples, bool final, WorkerEvent* out);
  Result<std::vector<WorkerEvent>> Gather(const WorkerEvent& mine);

  const WorkerOptions& o_;
  const RunConfig& c_;
  EventSink* sink_;
  std::unique_ptr<Trainer> trainer_;
  std::unique_ptr<MasterWorld> world_;
  std::unique_ptr<LinkemWorld> linkem_;
  World* net_world_ = nullptr;
  std::unique_ptr<Communicator> comm_;
  std::unique_ptr<Strategy> strategy_;
  std::unique_ptr<StrategyHooks> hooks_;
  std::unique_ptr<SafePoint> sp_;
  std::vector<float> global_;
  double t0_ = 0, eval_seconds_ = 0;
  int64_t local_steps_ = 0;
  int safe_points_ = 0;
  bool adamw_replicated_ = false;
};

WorkerEvent WorkerRun::Event(const char* kind) {
  WorkerEvent e;
  e.event = kind;
  e.slot = o_.slot;
  const WorldView v = world_->View();
  e.rank = v.rank;
  e.world_size = v.size();
  e.revision = v.revision;
  e.peer_id = world_->peer_id();
  e.wall = t0_ > 0 ? Wall() : 0;
  e.step = strategy_ ? strategy_->step() : 0;
  e.local_steps = local_steps_;
  e.samples = local_steps_ * c_.batch;
  if (strategy_) {
    const StrategyStats s = strategy_->stats();
    e.bytes_sent = s.bytes_sent;
    e.bytes_received = s.bytes_received;
    e.peak_message_bytes = s.peak_message_bytes;
    e.syncs = s.syncs;
    e.failures = s.failures;
  }
  return e;
}

Status WorkerRun::Setup() {
  TERN_ASSIGN_OR_RETURN(trainer_, MakeTrainer(c_, o_.slot));
  global_.resize(trainer_->flat_parameters().size());
  if (o_.join_gate) TERN_RETURN_IF_ERROR(WaitForGate());
  TERN_ASSIGN_OR_RETURN(world_, MasterWorld::Join(o_.master, o_.join_timeout));
  net_world_ = world_.get();
  if (c_.link_rate_mbit > 0 || c_.link_delay_ms > 0) {
    TERN_ASSIGN_OR_RETURN(linkem_,
                          LinkemWorld::Create(world_.get(), {c_.link_rate_mbit, c_.link_delay_ms}));
    net_world_ = linkem_.get();
  }
  TERN_ASSIGN_OR_RETURN(comm_, Communicator::Create(net_world_));
  TERN_ASSIGN_OR_RETURN(StrategyParams params, StrategyParamsFor(c_));
  TERN_ASSIGN_OR_RETURN(strategy_, Strategy::Create(c_.strategy, params));
  TERN_RETURN_IF_ERROR(strategy_->Attach(comm_.get(), net_world_, ModelBuffersOf(*trainer_)));
  for (const StateTensor& t : strategy_->State()) {
    if (t.name == "optimizer.adamw.m") adamw_replicated_ = t.replicated;
  }
  hooks_ = std::make_unique<StrategyHooks>(strategy_.get());
  trainer_->SetStepHooks(hooks_.get());
  const milliseconds step_timeout(std::max(c_.timeout_ms, 30000));
  TERN_ASSIGN_OR_RETURN(sp_, SafePoint::Create(world_.get(), net_world_, comm_.get(),
                                               strategy_.get(), step_timeout,
                                               milliseconds(600000),
                                               RunConfigForAgreement(c_)));
  TERN_RETURN_IF_ERROR(SafePointNow());
  sink_->Emit(Event("started"));
  return OkStatus();
}

Status WorkerRun::SafePointNow() {
  TERN_ASSIGN_OR_RETURN(int members, OneSafePoint());
  if (!c_.chaos_wait_for_join) return OkStatus();
  // Test-only (RunConfig::chaos_wait_for_join): a survivor of a kill waits
  // for the replacement to be pending and admits it before it goes on, so
  // a short run cannot end before the replacement joined.
  const Deadline deadline = Deadline::After(o_.join_timeout);
  while (members < c_.workers && !deadline.Expired()) {
    if (!sp_->Due()) {
      std::this_thread::sleep_for(milliseconds(10));
      continue;
    }
    TERN_ASSIGN_OR_RETURN(members, OneSafePoint());
  }
  return OkStatus();
}

Result<int> WorkerRun::OneSafePoint() {
  TERN_ASSIGN_OR_RETURN(SafePointReport r, sp_->Run());
  ++safe_points_;
  // The run's step, not this trainer's: a joiner (or a repaired peer)
  // continues the learning-rate schedule and its shard's batch sequence
  // where the run is.
  trainer_->SetStep(strategy_->step());
  if (adamw_replicated_) {
    // The moments arrived with the sync; the step count (bias correction)
    // is the run's, since every peer applies one AdamW step per step.
    trainer_->optimizer().SetSteps(strategy_->step());
  }
  WorkerEvent e = Event("safepoint");
  e.fixed = r.fixed;
  e.state_bytes = r.bytes_received;
  e.seconds = r.seconds;
  e.joined = r.self_joined;
  sink_->Emit(e);
  return r.members;
}

Status WorkerRun::WithRetry(const std::function<Status()>& hook) {
  for (int failures = 0;; ++failures) {
    Status s = hook();
    if (s.ok() || !RetryableAtSafePoint(s)) return s;
    if (failures >= kMaxConsecutiveFailures) return s;
    TERN_LOG(INFO) << "retrying after a safe point: " << s.ToString();
    TERN_RETURN_IF_ERROR(SafePointNow());
  }
}

Status WorkerRun::Evaluate(int64_t samples, bool final, WorkerEvent* out) {
  const double t = NowSeconds();
  TERN_RETURN_IF_ERROR(strategy_->GlobalParameters(global_));
  TERN_ASSIGN_OR_RETURN(EvalResult r, trainer_->EvaluateParameters(global_, samples));
  eval_seconds_ += NowSeconds() - t;
  *out = Event("eval");
  out->accuracy = r.accuracy;
  out->loss = r.loss;
  out->samples = r.samples;
  out->final = final;
  sink_->Emit(*out);
  return OkStatus();
}

Status WorkerRun::Train() {
  t0_ = NowSeconds();
  double last_emit = 0;
  int64_t last_eval = -1;
  while (strategy_->step() < c_.steps) {
    if (sp_->Due()) TERN_RETURN_IF_ERROR(SafePointNow());
    float loss = 0;
    TERN_RETURN_IF_ERROR(WithRetry([&]() -> Status {
      TERN_ASSIGN_OR_RETURN(StepStats st, trainer_->Step());
      loss = st.loss;
      return OkStatus();
    }));
    ++local_steps_;
    const int64_t step = strategy_->step();
    const bool mark = c_.eval_every > 0 && step % c_.eval_every == 0;
    if (mark || NowSeconds() - last_emit >= kStepEventSeconds) {
      last_emit = NowSeconds();
      WorkerEvent e = Event("step");
      e.mark = mark;
      e.loss = loss;
      sink_->Emit(e);
    }
    if (mark && step < c_.steps && step != last_eval && world_->View().rank == 0) {
      last_eval = step;
      WorkerEvent eval;
      TERN_RETURN_IF_ERROR(Evaluate(c_.eval_samples, false, &eval));
    }
  }
  return WithRetry([&] { return strategy_->Finish(); });
}

// Best effort, one attempt: the workers leave right after it, so a retry
// could wait for peers that are gone. A worker that misses the others'
// totals reports its own.
Result<std::vector<WorkerEvent>> WorkerRun::Gather(const WorkerEvent& mine) {
  std::vector<std::string> blobs;
  CollectiveOptions co;
  co.timeout = milliseconds(std::max(c_.timeout_ms, 30000));
  co.max_blob_bytes = 1 << 16;
  TERN_RETURN_IF_ERROR(comm_->AllGatherBytes(EventToJson(mine), &blobs, co));
  // Farewell: a worker leaves only once every worker has the totals. One
  // that left would announce a revision, and that aborts the gather of a
  // worker still finishing it (which then reported only its own totals and
  // failed the parity check's count). The barrier's own failure (a worker
  // already past it left) costs nothing.
  comm_->Barrier(co).IgnoreError();
  if (linkem_) {
    // Frames to slower peers may still sit in a proxy's delay queue; a
    // close now could reset their connection mid-gather.
    std::this_thread::sleep_for(milliseconds(50 + static_cast<int64_t>(4 * c_.link_delay_ms)));
  }
  std::vector<WorkerEvent> out;
  for (const std::string& b : blobs) {
    TERN_ASSIGN_OR_RETURN(WorkerEvent e, EventFromJson(b));
    out.push_back(std::move(e));
  }
  return out;
}

Result<WorkerOutcome> WorkerRun::Finish() {
  WorkerEvent done = Event("done");
  TERN_ASSIGN_OR_RETURN(done.state_hash, sp_->StateHash());
  TERN_RETURN_IF_ERROR(strategy_->GlobalParameters(global_));
  done.params_hash = Xxh3(global_.data(), global_.size() * sizeof(float));
  done.safe_points = safe_points_;
  done.eval_seconds = eval_seconds_;
  done.message = strategy_->config();
  WorkerOutcome out;
  Result<std::vector<WorkerEvent>> all = Gather(done);
  if (all.ok()) {
    out.world = std::move(*all);
  } else {
    TERN_LOG(WARNING) << "could not gather the other workers' totals: " << all.status().ToString();
    out.world = {done};
  }
  sink_->Emit(done);
  out.is_rank0 = world_->View().rank == 0;
  if (out.is_rank0) {
    TERN_RETURN_IF_ERROR(Evaluate(c_.final_eval_samples, true, &out.final_eval));
  }
  return out;
}

}  // namespace

Result<WorkerOutcome> RunWorker(const WorkerOptions& options, EventSink* sink) {
  TERN_RETURN_IF_ERROR(ValidateRunConfig(options.config));
  if (options.slot < 0 || options.slot >= options.config.workers) {
    return InvalidArgumentError("worker slot (RANK) " + std::to_string(options.slot) +
                                " is outside 0.." + std::to_string(options.config.workers - 1));
  }
  WorkerRun run(options, sink);
  TERN_RETURN_IF_ERROR(run.Setup());
  TERN_RETURN_IF_ERROR(run.Train());
  return run.Finish();
}

}  // namespace tern::train
