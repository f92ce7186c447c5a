#include "train/safe_point.h"

#include <thread>

#include "train/run_config.h"
#include "util/clock.h"
#include "util/logging.h"

namespace tern::train {

namespace {
// Between attempts, so a failure that returns at once (the master
// unreachable) does not spin.
constexpr std::chrono::milliseconds kRetryPause{20};
// A RunConfig as JSON is a few hundred bytes; strategy_params could add some.
constexpr size_t kMaxRunConfigBytes = 1 << 16;
}  // namespace

bool RetryableAtSafePoint(const Status& s) {
  switch (s.code()) {
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
    case StatusCode::kAborted:
    case StatusCode::kDataLoss:
      return true;
    default:
      return false;
  }
}

Result<std::unique_ptr<SafePoint>> SafePoint::Create(MasterWorld* world, World* net_world,
                                                     Communicator* comm, Strategy* strategy,
                                                     std::chrono::milliseconds step_timeout,
                                                     std::chrono::milliseconds deadline,
                                                     std::string run_config) {
  auto sp = std::unique_ptr<SafePoint>(
      new SafePoint(world, net_world, comm, step_timeout, deadline));
  TERN_ASSIGN_OR_RETURN(sp->state_, SharedState::Create(world));
  if (!run_config.empty()) {
    sp->own_config_ = sp->run_config_ = std::move(run_config);
    TERN_RETURN_IF_ERROR(
        sp->state_->RegisterBytes("run.config", &sp->run_config_, kMaxRunConfigBytes));
  }
  TERN_ASSIGN_OR_RETURN(sp->sync_, StrategySync::Create(strategy, sp->state_.get()));
  return sp;
}

bool SafePoint::Due() const {
  if (world_->AnnouncedRevision() > world_->View().revision) return true;
  Result<bool> pending = world_->PeersPending(std::chrono::milliseconds(0));
  return pending.ok() && *pending;
}

Result<SafePointReport> SafePoint::Run() {
  const double t0 = NowSeconds();
  const Deadline deadline = Deadline::After(deadline_);
  SafePointReport report;
  Status last = OkStatus();
  while (!deadline.Expired()) {
    if (report.attempts++ > 0) std::this_thread::sleep_for(kRetryPause);
    Result<SyncReport> sync = sync_->SafePoint(net_world_, comm_, step_timeout_);
    if (!sync.ok()) {
      if (!RetryableAtSafePoint(sync.status())) return sync.status();
      TERN_LOG(INFO) << "safe point failed, retrying: " << sync.status().ToString();
      last = sync.status();
      continue;
    }
    if (run_config_ != own_config_) {
      return InvalidArgumentError("this worker's run config differs from the run's: " +
                                  DescribeConfigDifference(own_config_, run_config_) +
                                  "; start every worker with the same options");
    }
    const WorldView v = world_->View();
    report.revision = v.revision;
    report.members = v.size();
    report.fixed = static_cast<int>(sync->fixed.size());
    report.bytes_received = sync->bytes_received;
    report.self_joined = sync->receive_only;
    report.seconds = NowSeconds() - t0;
    return report;
  }
  return DeadlineExceededError("the world did not settle at a safe point within " +
                               std::to_string(deadline_.count() / 1000) +
                               " s; last error: " + last.ToString());
}

Result<uint64_t> SafePoint::StateHash() { return sync_->StateHash(); }

}  // namespace tern::train
