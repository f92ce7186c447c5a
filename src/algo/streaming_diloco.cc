// Streaming DiLoCo (Douillard et al. 2025; torchft's DiLoCo with fragments).
//
// Words: H sync_every; F fragments; P = H / F the period between fragment
// syncs; tau the overlap (sync_delay); c the 1-based index of the inner
// step being completed, c = step + 1 with `step` the replicated counter.
//
// Fragment p = (c / P - 1) mod F is merged at every c with c mod P == 0
// ("perform"): its averaged delta drives the outer optimizer on the fragment
// of the outer parameters, then local = lerp(global, local, alpha). With
// tau > 0 the delta was taken tau steps earlier ("prepare", c mod P == P -
// tau) and all-reduced in the background meanwhile. Because the fragment
// follows the replicated step, a failed sync retries the same fragment.
//
// Fallback (strategy_base.h): when the background result is missing (it
// failed, or the world changed since prepare), perform all-reduces a fresh
// delta synchronously, as tau = 0 would.
//
// State. Replicated: outer.params (all fragments), the outer optimizer's
// buffers, replicated error-feedback state per fragment. Per-peer: the local
// parameters, residuals. Joiner rule: local = outer.
#include <memory>
#include <vector>

#include "algo/fragments.h"
#include "algo/outer_optimizer.h"
#include "algo/reducer.h"
#include "algo/strategies.h"
#include "algo/outer_strategy.h"

namespace tern::algo {
namespace {

class StreamingDiLoCo final : public OuterStrategy {
 public:
  StreamingDiLoCo(const StreamingDiLoCoOptions& o, std::unique_ptr<Reducer> reducer)
      : OuterStrategy(StrategyConfig(o), o.common), o_(o), reducer_(std::move(reducer)) {}
  ~StreamingDiLoCo() override { DropBackground(); }

  Status AfterOptimizerStep(const StepInfo&) override {
    TERN_RETURN_IF_ERROR(RequireAttached());
    const uint64_t c = step_ + 1, period = o_.sync_every / fragments_.size();
    const uint64_t tau = static_cast<uint64_t>(o_.sync_delay);
    if (tau > 0 && c % period == period - tau) Prepare(c + tau);
    if (c % period == 0) TERN_RETURN_IF_ERROR(Perform(c));
    step_ = c;
    return OkStatus();
  }

  Status Finish() override {
    TERN_RETURN_IF_ERROR(RequireAttached());
    DropBackground();  // a prepared fragment not yet due is not merged early
    return OkStatus();
  }

 protected:
  Status OnAttach() override {
    std::vector<Range> layers = Layers(layout_);
    int f = o_.fragments;
    if (f == 0) {
      TERN_ASSIGN_OR_RETURN(f, AutoFragments(layers.size(), o_.sync_every, o_.sync_delay));
    }
    TERN_ASSIGN_OR_RETURN(fragments_, MakeFragments(layers, f, o_.layout));
    size_t largest = 0;
    for (const Fragment& fr : fragments_) largest = std::max(largest, fr.numel);
    delta_.assign(largest, 0.0f);
    local_.assign(largest, 0.0f);
    InitOuter(OuterStateBuffers(o_.outer.rule));
    return OkStatus();
  }

  Status AppendState(std::vector<StateTensor>* out) override {
    TERN_RETURN_IF_ERROR(AppendOuterState(out, nullptr, ""));
    for (size_t p = 0; p < fragments_.size(); ++p) {
      TERN_RETURN_IF_ERROR(reducer_->AppendState(p, fragments_[p].numel,
                                                 "fragment." + std::to_string(p), out));
    }
    return OkStatus();
  }

 private:
  uint64_t Period() const { return o_.sync_every / fragments_.size(); }
  size_t FragmentAt(uint64_t c) const { return (c / Period() - 1) % fragments_.size(); }
  std::span<float> Delta(size_t p) { return {delta_.data(), fragments_[p].numel}; }

  // delta_ = outer - local over fragment p (packed).
  void ComputeDelta(size_t p) {
    const Fragment& f = fragments_[p];
    std::span<float> d = Delta(p);
    Pack(f, params_, {local_.data(), f.numel});
    Pack(f, outer_params_, d);
    for (size_t i = 0; i < f.numel; ++i) d[i] = d[i] - local_[i];
  }

  void Prepare(uint64_t due) {
    DropBackground();  // a stale one (its perform was re-run or reverted)
    const size_t p = FragmentAt(due);
    ComputeDelta(p);
    Launch(comm_->AllReduceAsync(TensorView::Of(Delta(p)),
                                 reducer_->Options(common_, p, due / Period())),
           static_cast<int64_t>(due));
  }

  Status Perform(uint64_t c) {
    const size_t p = FragmentAt(c);
    Result<bool> ready = TakeBackground(static_cast<int64_t>(c));
    if (!ready.ok()) return Failed(ready.status());
    if (!*ready) {
      ComputeDelta(p);
      Status s = Counted(reducer_->Options(common_, p, c / Period()),
                         [&](const AllReduceOptions& o) {
                           return comm_->AllReduce(TensorView::Of(Delta(p)), o);
                         });
      if (!s.ok()) return Failed(s);
    }
    Merge(p, c);
    ++stats_.syncs;
    return OkStatus();
  }

  // Outer step on fragment p with the averaged delta, then the lerp.
  void Merge(size_t p, uint64_t c) {
    const Fragment& f = fragments_[p];
    const int64_t t = static_cast<int64_t>((c / Period() - 1) / fragments_.size() + 1);
    size_t at = 0;
    for (const Range& r : f.ranges) {
      std::span<const float> g(delta_.data() + at, r.numel);
      std::span<float> outer = Slice(outer_params_, r.offset, r.numel);
      OuterStep(o_.outer, t, g, outer, Slice(state1_, r.offset, r.numel),
                Slice(state2_, r.offset, r.numel));
      LerpInto(params_.subspan(r.offset, r.numel), outer, o_.alpha);
      at += r.numel;
    }
  }

  const StreamingDiLoCoOptions o_;
  std::unique_ptr<Reducer> reducer_;
  std::vector<Fragment> fragments_;
  std::vector<float> delta_;  // packed; the background all-reduce's buffer
  std::vector<float> local_;  // packed scratch
};

}  // namespace

Result<std::unique_ptr<Strategy>> MakeStreamingDiLoCo(const StreamingDiLoCoOptions& o) {
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<Reducer> reducer, Reducer::Create(o.codec));
  return std::unique_ptr<Strategy>(new StreamingDiLoCo(o, std::move(reducer)));
}

}  // namespace tern::algo
