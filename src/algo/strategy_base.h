// StrategyBase: what every strategy shares. The replicated step counter and
// member list (and their metadata encoding), attaching to the model's
// buffers, the safe-point protocol (hash before, joiner detection and
// per-peer re-initialisation after), the byte counters, and one background
// collective whose result a later hook consumes.
//
// A concrete strategy implements OnAttach, AppendState and its hooks, and
// may override ReinitPerPeer (joiner rule), OnMembersJoined (a donor copy),
// Finish and GlobalParameters.
//
// Background rule (docs/strategies.md, "Overlap"): a background result is
// used only by the sync it was launched for, on the revision it was launched
// on. BeforeSafePoint waits for it; a failure surfaces at the consuming hook
// once, after which the hook takes the strategy's fallback (a synchronous
// all-reduce of fresh values, or skipping the delayed update), as it does
// when the result was dropped because the world changed. Every member of a
// revision decides the same way, so they issue the same collectives.
//
// Thread-compatible.
#ifndef TERN_ALGO_STRATEGY_BASE_H_
#define TERN_ALGO_STRATEGY_BASE_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tern/strategy.h"

namespace tern::algo {

class StrategyBase : public Strategy {
 public:
  StrategyBase(const StrategyConfig& config, const CommonStrategyOptions& common);
  ~StrategyBase() override;

  std::string_view name() const override { return name_; }
  const std::string& config() const override { return config_text_; }
  Status Attach(Communicator* comm, World* world, ModelBuffers model) override;
  Status AfterBackward(const StepInfo& info) override;
  Status ZerothOrderStep(const StepInfo& info, const LossFn& loss) override;
  std::vector<StateTensor> State() override;
  std::string ReplicatedMetadata() const override;
  Status SetReplicatedMetadata(std::string_view bytes) override;
  Status BeforeSafePoint() override;
  Status AfterSafePoint() override;
  Status Finish() override;
  Status GlobalParameters(std::span<float> out) const override;
  int64_t step() const override { return static_cast<int64_t>(step_); }
  StrategyStats stats() const override { return stats_; }

 protected:
  // Called by Attach once the buffers are bound: allocate state.
  virtual Status OnAttach() = 0;
  // The strategy's own state buffers (replicated and per-peer).
  virtual Status AppendState(std::vector<StateTensor>* out) = 0;
  // Whether the trainer's optimizer state is replicated (data-parallel).
  virtual bool OptimizerStateReplicated() const { return false; }
  // A joiner, or a peer whose replicated state a safe point replaced,
  // re-derives its per-peer state (background results are already dropped).
  virtual Status ReinitPerPeer() { return OkStatus(); }
  // Called on every member after a safe point that admitted `joiners`
  // (ascending; may include this peer); `old_members` are the members that
  // were already in the run (ascending).
  virtual Status OnMembersJoined(const std::vector<uint64_t>& old_members,
                                 const std::vector<uint64_t>& joiners) {
    (void)old_members;
    (void)joiners;
    return OkStatus();
  }

  Status RequireAttached() const;
  // Counts a finished collective.
  void Record(const OpStats& s);
  // Runs one collective, `op(options)`, with `options.stats` pointed at a
  // local OpStats that is Record()ed whatever the status; returns op's.
  template <class Options, class Op>
  Status Counted(Options options, Op&& op) {
    OpStats st;
    options.stats = &st;
    Status s = op(options);
    Record(st);
    return s;
  }
  // Counts a failed hook and returns its status.
  Status Failed(Status s);
  AllReduceOptions PlainOptions(ReduceOp op) const;
  CollectiveOptions P2pOptions() const;

  // --- The background collective ---
  // Starts `work` for sync `key` on the current revision. REQUIRES: none
  // pending (consume or drop it first).
  void Launch(std::unique_ptr<Work> work, int64_t key);
  bool has_background() const { return bg_work_ != nullptr || bg_waited_; }
  // Waits (once) and returns the operation's status.
  Status WaitBackground();
  // For the hook that consumes sync `key`: true if its background result is
  // usable (the op is then forgotten; its buffer holds the result); false if
  // there is none (never launched, dropped, launched for another sync or on
  // an older revision, whatever its status), and the caller takes its
  // fallback; the op's error if it failed on the current revision, returned
  // once, so a re-run of the hook (after a safe point) takes the fallback.
  Result<bool> TakeBackground(int64_t key);
  // Waits for and forgets the background op. Derived destructors call it
  // before their buffers go.
  void DropBackground();

  const CommonStrategyOptions common_;
  Communicator* comm_ = nullptr;
  World* world_ = nullptr;
  std::span<float> params_;
  std::span<float> grads_;
  std::vector<ParamSlice> layout_;
  std::vector<StateTensor> optimizer_state_;
  bool needs_gradients_ = true;  // false for "zo"

  uint64_t step_ = 0;             // replicated: inner steps completed by the run
  std::vector<uint64_t> members_;  // replicated: members at the last safe point
  StrategyStats stats_;

 private:
  uint64_t ReplicatedHash();

  const std::string name_;
  const std::string config_text_;
  const uint64_t config_hash_;
  const uint8_t index_;
  uint64_t hash_before_ = 0;
  // Between BeforeSafePoint and a successful AfterSafePoint: a safe point
  // that failed midway (a partial sync) keeps the hash of the state before
  // it, so the retry still sees that the sync replaced state.
  bool in_safe_point_ = false;

  std::unique_ptr<Work> bg_work_;
  bool bg_waited_ = false;
  Status bg_status_;
  uint64_t bg_revision_ = 0;
  int64_t bg_key_ = -1;
};

}  // namespace tern::algo

#endif  // TERN_ALGO_STRATEGY_BASE_H_
