#include "tern/algo_sync.h"

namespace tern {
namespace {
// Metadata is a few dozen bytes plus 8 per member (algo/metadata.h).
constexpr size_t kMaxMetadataBytes = 64 + 8 * (size_t{1} << 20);
}  // namespace

StrategySync::StrategySync(Strategy* strategy, SharedState* state, std::string prefix)
    : strategy_(strategy), state_(state), prefix_(std::move(prefix)) {}

StrategySync::~StrategySync() {
  for (const std::string& name : names_) state_->Unregister(name).IgnoreError();
}

Result<std::unique_ptr<StrategySync>> StrategySync::Create(Strategy* strategy, SharedState* state,
                                                           std::string prefix) {
  if (strategy == nullptr || state == nullptr) {
    return InvalidArgumentError("StrategySync needs a strategy and a shared state");
  }
  std::vector<StateTensor> tensors = strategy->State();
  if (tensors.empty()) return FailedPreconditionError("strategy not attached");
  std::unique_ptr<StrategySync> sync(new StrategySync(strategy, state, prefix));
  for (const StateTensor& t : tensors) {
    if (!t.replicated) continue;
    std::string name = prefix + t.name;
    TERN_RETURN_IF_ERROR(state->RegisterTensor(name, TensorView::Of(t.values)));
    sync->names_.push_back(std::move(name));
  }
  sync->metadata_ = strategy->ReplicatedMetadata();
  std::string meta_name = prefix + "metadata";
  TERN_RETURN_IF_ERROR(state->RegisterBytes(meta_name, &sync->metadata_, kMaxMetadataBytes));
  sync->names_.push_back(std::move(meta_name));
  return sync;
}

Status StrategySync::Refresh() {
  for (const StateTensor& t : strategy_->State()) {
    if (!t.replicated) continue;
    const std::string name = prefix_ + t.name;
    TERN_RETURN_IF_ERROR(state_->Unregister(name));
    TERN_RETURN_IF_ERROR(state_->RegisterTensor(name, TensorView::Of(t.values)));
  }
  return OkStatus();
}

Result<uint64_t> StrategySync::StateHash() {
  TERN_RETURN_IF_ERROR(Refresh());
  metadata_ = strategy_->ReplicatedMetadata();
  return state_->StateHash();
}

Result<SyncReport> StrategySync::SafePoint(World* world, Communicator* comm,
                                           std::chrono::milliseconds timeout) {
  TERN_RETURN_IF_ERROR(strategy_->BeforeSafePoint());
  TERN_RETURN_IF_ERROR(Refresh());
  TERN_RETURN_IF_ERROR(world->UpdateTopology(timeout));
  metadata_ = strategy_->ReplicatedMetadata();
  TERN_ASSIGN_OR_RETURN(SyncReport report, state_->SyncSharedState(timeout));
  TERN_RETURN_IF_ERROR(strategy_->SetReplicatedMetadata(metadata_));
  TERN_RETURN_IF_ERROR(comm->Connect(timeout));
  TERN_RETURN_IF_ERROR(strategy_->AfterSafePoint());
  return report;
}

}  // namespace tern
