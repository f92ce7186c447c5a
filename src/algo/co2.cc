// CO2 (Sun et al., ICLR 2024; fairscale-CO2 gossip/co2.py).
//
// Words: phi the outer parameters (replicated), m the outer momentum
// (replicated), theta the local parameters, lambda the staleness-gap
// penalty, c the clip threshold, eta the outer lr, beta the momentum.
//
// At the end of round t (every H-th inner step):
//   wait for the background average of round t-1: theta_bar = mean theta
//   send_t = theta - phi                         (change since the round began)
//   if theta_bar is there:
//     m = beta * m + (phi - theta_bar) / lambda
//     if clipping: m = clamp(m, -c, c)           (kept: the reference drops it)
//     phi = phi - eta * m
//   theta = phi
//   average send_t in the background over the next H steps
// theta_bar = phi_launch + mean(send), with phi_launch the phi that send was
// measured from, so a lossy codec sees changes, not parameters. A missing
// delayed average (the first round, a surfaced failure, a world change)
// skips the update on every member alike.
//
// State. Replicated: outer.params (phi), outer.state1 (m). Per-peer: theta,
// the in-flight average and phi_launch. Joiner rule: theta = phi.
#include <algorithm>
#include <memory>
#include <vector>

#include "algo/outer_optimizer.h"
#include "algo/reducer.h"
#include "algo/strategies.h"
#include "algo/outer_strategy.h"

namespace tern::algo {
namespace {

class Co2 final : public OuterStrategy {
 public:
  Co2(const Co2Options& o, std::unique_ptr<Reducer> reducer)
      : OuterStrategy(StrategyConfig(o), o.common), o_(o), reducer_(std::move(reducer)) {}
  ~Co2() override { DropBackground(); }

  Status AfterOptimizerStep(const StepInfo&) override {
    TERN_RETURN_IF_ERROR(RequireAttached());
    const uint64_t c = step_ + 1, h = static_cast<uint64_t>(o_.sync_every);
    if (c % h != 0) {
      step_ = c;
      return OkStatus();
    }
    const uint64_t t = c / h;
    Result<bool> ready = TakeBackground(static_cast<int64_t>(t - 1));
    if (!ready.ok()) return Failed(ready.status());
    Difference(params_, phi_, next_);
    if (*ready) {
      for (size_t i = 0; i < phi_.size(); ++i) in_flight_[i] = phi_launch_[i] + in_flight_[i];
    }
    CopyInto(phi_launch_, phi_);
    if (*ready) Apply();
    CopyInto(params_, phi_);
    std::swap(in_flight_, next_);
    Launch(comm_->AllReduceAsync(TensorView::Of(in_flight_), reducer_->Options(common_, 0, t)),
           static_cast<int64_t>(t));
    step_ = c;
    return OkStatus();
  }

  Status Finish() override {
    TERN_RETURN_IF_ERROR(RequireAttached());
    const uint64_t t = step_ / static_cast<uint64_t>(o_.sync_every);
    Result<bool> ready = TakeBackground(static_cast<int64_t>(t));
    if (!ready.ok()) return Failed(ready.status());
    if (*ready) {
      for (size_t i = 0; i < phi_.size(); ++i) in_flight_[i] = phi_launch_[i] + in_flight_[i];
      Apply();
      CopyInto(params_, phi_);
    }
    return OkStatus();
  }


 protected:
  Status OnAttach() override {
    InitOuter(1);  // phi = outer.params, m = outer.state1
    phi_launch_ = outer_params_;
    in_flight_.assign(params_.size(), 0.0f);
    next_.assign(params_.size(), 0.0f);
    return OkStatus();
  }

  Status AppendState(std::vector<StateTensor>* out) override {
    return AppendOuterState(out, reducer_.get(), "average");
  }

 private:
  // The outer step with theta_bar in in_flight_.
  void Apply() {
    const float beta = o_.momentum, lambda = o_.gap_penalty, eta = o_.outer_lr;
    const float lo = -o_.clip_threshold, hi = o_.clip_threshold;
    for (size_t i = 0; i < phi_.size(); ++i) {
      float m = beta * momentum_[i] + (phi_[i] - in_flight_[i]) / lambda;
      if (o_.clip) m = std::clamp(m, lo, hi);
      momentum_[i] = m;
      phi_[i] = phi_[i] - eta * m;
    }
    ++stats_.syncs;
  }

  const Co2Options o_;
  std::unique_ptr<Reducer> reducer_;
  std::vector<float>& phi_ = outer_params_;
  std::vector<float>& momentum_ = state1_;
  std::vector<float> phi_launch_;
  std::vector<float> in_flight_;  // the background all-reduce's buffer
  std::vector<float> next_;
};

}  // namespace

Result<std::unique_ptr<Strategy>> MakeCo2(const Co2Options& o) {
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<Reducer> reducer, Reducer::Create(o.codec));
  return std::unique_ptr<Strategy>(new Co2(o, std::move(reducer)));
}

}  // namespace tern::algo
