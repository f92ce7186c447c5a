#include "algo/strategy_base.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "algo/fragments.h"
#include "algo/metadata.h"
#include "util/check.h"
#include "util/hash.h"

namespace tern::algo {

StrategyBase::StrategyBase(const StrategyConfig& config, const CommonStrategyOptions& common)
    : common_(common),
      name_(StrategyName(config)),
      config_text_(CanonicalConfig(config)),
      config_hash_(Xxh3(config_text_.data(), config_text_.size())),
      index_(static_cast<uint8_t>(config.index())) {}

StrategyBase::~StrategyBase() {
  // The background op reads and writes buffers of the derived class, which
  // are already gone here, so derived destructors wait for it (see
  // DropBackground); this is a last guard.
  bg_work_.reset();
}

Status StrategyBase::Attach(Communicator* comm, World* world, ModelBuffers model) {
  if (comm_ != nullptr) return FailedPreconditionError("strategy already attached");
  if (comm == nullptr || world == nullptr) {
    return InvalidArgumentError("Attach needs a communicator and its world");
  }
  if (model.parameters.empty()) return InvalidArgumentError("empty parameter buffer");
  if (needs_gradients_ && model.gradients.size() != model.parameters.size()) {
    return InvalidArgumentError("gradient buffer size differs from the parameter buffer");
  }
  TERN_ASSIGN_OR_RETURN(layout_, NormalizeLayout(model.layout, model.parameters.size()));
  std::set<std::string> names;
  for (const StateTensor& t : model.optimizer_state) {
    if (!names.insert(t.name).second) {
      return InvalidArgumentError("duplicate optimizer state name '" + t.name + "'");
    }
  }
  params_ = model.parameters;
  grads_ = model.gradients;
  optimizer_state_ = std::move(model.optimizer_state);
  comm_ = comm;
  world_ = world;
  WorldView view = world->View();
  members_.clear();
  if (view.rank >= 0) {
    for (const PeerInfo& p : view.peers) members_.push_back(p.peer_id);
    std::sort(members_.begin(), members_.end());
  }
  Status s = OnAttach();
  if (!s.ok()) {
    comm_ = nullptr;
    world_ = nullptr;
    return s;
  }
  hash_before_ = ReplicatedHash();
  return OkStatus();
}

Status StrategyBase::RequireAttached() const {
  return comm_ ? OkStatus() : FailedPreconditionError("strategy not attached");
}

Status StrategyBase::AfterBackward(const StepInfo&) { return RequireAttached(); }

Status StrategyBase::ZerothOrderStep(const StepInfo&, const LossFn&) {
  return UnimplementedError(name_ + " has no zeroth-order step");
}

std::vector<StateTensor> StrategyBase::State() {
  std::vector<StateTensor> out;
  if (!comm_) return out;
  Status s = AppendState(&out);
  TERN_CHECK(s.ok()) << s.ToString();  // sizes were fixed at Attach
  for (const StateTensor& t : optimizer_state_) {
    out.push_back({.name = "optimizer." + t.name,
                   .replicated = OptimizerStateReplicated(),
                   .values = t.values});
  }
  std::stable_partition(out.begin(), out.end(), [](const StateTensor& t) { return t.replicated; });
  return out;
}

std::string StrategyBase::ReplicatedMetadata() const {
  return EncodeMetadata({.strategy = index_, .config_hash = config_hash_, .step = step_,
                         .members = members_});
}

Status StrategyBase::SetReplicatedMetadata(std::string_view bytes) {
  TERN_ASSIGN_OR_RETURN(Metadata m, DecodeMetadata(bytes));
  if (m.strategy != index_ || m.config_hash != config_hash_) {
    return InvalidArgumentError("replicated metadata of another strategy configuration (this: " +
                                config_text_ + ")");
  }
  step_ = m.step;
  members_ = std::move(m.members);
  return OkStatus();
}

uint64_t StrategyBase::ReplicatedHash() {
  Xxh3Hasher h;
  for (const StateTensor& t : State()) {
    if (!t.replicated) continue;
    h.Update(t.name.data(), t.name.size());
    h.Update(t.values.data(), t.values.size_bytes());
  }
  const std::string meta = ReplicatedMetadata();
  h.Update(meta.data(), meta.size());
  return h.Digest();
}

Status StrategyBase::BeforeSafePoint() {
  TERN_RETURN_IF_ERROR(RequireAttached());
  if (bg_work_) WaitBackground().IgnoreError();  // surfaces at the consuming hook
  if (!in_safe_point_) hash_before_ = ReplicatedHash();
  in_safe_point_ = true;
  return OkStatus();
}

Status StrategyBase::AfterSafePoint() {
  TERN_RETURN_IF_ERROR(RequireAttached());
  const WorldView view = world_->View();
  if (view.rank < 0) return FailedPreconditionError("this peer is not a member of the world");
  std::vector<uint64_t> now;
  for (const PeerInfo& p : view.peers) now.push_back(p.peer_id);
  std::sort(now.begin(), now.end());
  std::vector<uint64_t> joiners, old_members;
  for (uint64_t id : now) {
    (std::binary_search(members_.begin(), members_.end(), id) ? old_members : joiners)
        .push_back(id);
  }
  const uint64_t self = view.self().peer_id;
  const bool self_joined = std::binary_search(joiners.begin(), joiners.end(), self);
  if (self_joined || ReplicatedHash() != hash_before_) {
    DropBackground();
    TERN_RETURN_IF_ERROR(ReinitPerPeer());
  }
  if (!joiners.empty()) TERN_RETURN_IF_ERROR(OnMembersJoined(old_members, joiners));
  members_ = std::move(now);
  hash_before_ = ReplicatedHash();
  in_safe_point_ = false;
  return OkStatus();
}

Status StrategyBase::Finish() { return RequireAttached(); }

Status StrategyBase::GlobalParameters(std::span<float> out) const {
  TERN_RETURN_IF_ERROR(RequireAttached());
  if (out.size() != params_.size()) return InvalidArgumentError("output size differs");
  std::memcpy(out.data(), params_.data(), params_.size_bytes());
  return OkStatus();
}

void StrategyBase::Record(const OpStats& s) {
  stats_.bytes_sent += s.bytes_sent;
  stats_.bytes_received += s.bytes_received;
  stats_.collectives += 1;
  stats_.peak_message_bytes = std::max(stats_.peak_message_bytes, s.bytes_sent);
}

Status StrategyBase::Failed(Status s) {
  ++stats_.failures;
  return s;
}

AllReduceOptions StrategyBase::PlainOptions(ReduceOp op) const {
  AllReduceOptions o;
  o.op = op;
  o.timeout = common_.timeout;
  o.tag = common_.tag;
  return o;
}

CollectiveOptions StrategyBase::P2pOptions() const {
  CollectiveOptions o;
  o.timeout = common_.timeout;
  o.tag = common_.tag;
  return o;
}

void StrategyBase::Launch(std::unique_ptr<Work> work, int64_t key) {
  TERN_CHECK(!has_background());
  bg_work_ = std::move(work);
  bg_waited_ = false;
  bg_status_ = OkStatus();
  bg_revision_ = world_->View().revision;
  bg_key_ = key;
}

Status StrategyBase::WaitBackground() {
  if (bg_work_ && !bg_waited_) {
    bg_status_ = bg_work_->Wait();
    Record(bg_work_->stats());
    bg_waited_ = true;
  }
  return bg_status_;
}

Result<bool> StrategyBase::TakeBackground(int64_t key) {
  if (!has_background()) return false;
  Status s = WaitBackground();
  // A result from an older revision is dropped without surfacing its error:
  // a peer whose op failed may have reached the safe point before or after
  // consuming it, and both must now take the same fallback.
  const bool usable = bg_key_ == key && bg_revision_ == world_->View().revision;
  DropBackground();
  if (!usable) return false;
  if (!s.ok()) return s;
  return true;
}

void StrategyBase::DropBackground() {
  if (bg_work_ && !bg_waited_) WaitBackground().IgnoreError();
  bg_work_.reset();
  bg_waited_ = false;
  bg_status_ = OkStatus();
  bg_key_ = -1;
}

}  // namespace tern::algo
