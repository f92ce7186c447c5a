#include "train/safe_point.h"

#include "util/clock.h"
#include "util/logging.h"

namespace tern::train {

namespace {
// Metadata is a few dozen bytes plus 8 per member; this bounds what a peer
// may send us (semantic 7).
constexpr size_t kMaxMetadataBytes = 1 << 20;
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
                                                     Strategy* strategy,
                                                     std::chrono::milliseconds step_timeout,
                                                     std::chrono::milliseconds deadline) {
  auto sp = std::unique_ptr<SafePoint>(
      new SafePoint(world, net_world, strategy, step_timeout, deadline));
  TERN_ASSIGN_OR_RETURN(sp->state_, SharedState::Create(world));
  for (const StateTensor& t : strategy->State()) {
    if (!t.replicated) continue;
    TERN_RETURN_IF_ERROR(sp->state_->RegisterTensor("strategy/" + t.name, TensorView::Of(t.values)));
  }
  sp->metadata_ = strategy->ReplicatedMetadata();
  TERN_RETURN_IF_ERROR(
      sp->state_->RegisterBytes("strategy/metadata", &sp->metadata_, kMaxMetadataBytes));
  return sp;
}

bool SafePoint::Due() const {
  if (world_->AnnouncedRevision() > world_->View().revision) return true;
  Result<bool> pending = world_->PeersPending(std::chrono::milliseconds(0));
  return pending.ok() && *pending;
}

Result<SafePointReport> SafePoint::Run(bool initial) {
  const double t0 = NowSeconds();
  const Deadline deadline = Deadline::After(deadline_);
  if (!initial) TERN_RETURN_IF_ERROR(strategy_->BeforeSafePoint());
  SafePointReport report;
  Status last = OkStatus();
  for (bool first = true; !deadline.Expired(); first = false) {
    ++report.attempts;
    if (!(initial && first)) {
      Status s = net_world_->UpdateTopology(step_timeout_);
      if (!s.ok()) {
        if (!RetryableAtSafePoint(s)) return s;
        last = s;
        continue;
      }
    }
    metadata_ = strategy_->ReplicatedMetadata();
    Result<SyncReport> sync = state_->SyncSharedState(step_timeout_);
    if (!sync.ok()) {
      if (!RetryableAtSafePoint(sync.status())) return sync.status();
      TERN_LOG(INFO) << "shared-state sync failed, retrying: " << sync.status().ToString();
      last = sync.status();
      continue;
    }
    TERN_RETURN_IF_ERROR(strategy_->SetReplicatedMetadata(metadata_));
    Status after = strategy_->AfterSafePoint();
    if (!after.ok()) {
      if (!RetryableAtSafePoint(after)) return after;
      last = after;
      continue;
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

uint64_t SafePoint::StateHash() {
  metadata_ = strategy_->ReplicatedMetadata();
  return state_->StateHash();
}

}  // namespace tern::train
