// CO2 (Sun et al., ICLR 2024; fairscale-CO2 gossip/co2.py).
//
// Words: phi the outer parameters (replicated), m the outer momentum
// (replicated), theta the local parameters, lambda the staleness-gap
// penalty, c the clip threshold, eta the outer lr, beta the momentum.
//
// At the end of round t (every H-th inner step; DelayedOuterStrategy):
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
#include "algo/outer_strategy.h"
#include "algo/strategies.h"

namespace tern::algo {
namespace {

class Co2 final : public DelayedOuterStrategy {
 public:
  Co2(const Co2Options& o, std::unique_ptr<Reducer> reducer)
      : DelayedOuterStrategy(StrategyConfig(o), o.common, o.sync_every, std::move(reducer)),
        o_(o) {}

 protected:
  Status OnAttach() override {
    InitOuter(1);  // phi = outer.params, m = outer.state1
    InitDelayed();
    phi_launch_ = outer_params_;
    return OkStatus();
  }

  Status AppendState(std::vector<StateTensor>* out) override {
    return AppendOuterState(out, reducer_.get(), "average");
  }

  void PrepareSend(std::span<float> send) override { Difference(params_, outer_params_, send); }

  // One pass: theta_bar from the old phi_launch, phi_launch = phi (this
  // round's start, which `send` was measured from), then the outer step.
  void Apply(std::span<float> mean_send, uint64_t) override {
    const float beta = o_.momentum, lambda = o_.gap_penalty, eta = o_.outer_lr;
    const float lo = -o_.clip_threshold, hi = o_.clip_threshold;
    std::vector<float>& phi = outer_params_;
    std::vector<float>& m = state1_;
    for (size_t i = 0; i < phi.size(); ++i) {
      const float theta_bar = phi_launch_[i] + mean_send[i];
      phi_launch_[i] = phi[i];
      float mi = beta * m[i] + (phi[i] - theta_bar) / lambda;
      if (o_.clip) mi = std::clamp(mi, lo, hi);
      m[i] = mi;
      phi[i] = phi[i] - eta * mi;
    }
  }

  void Skip() override { CopyInto(phi_launch_, outer_params_); }

 private:
  const Co2Options o_;
  std::vector<float> phi_launch_;
};

}  // namespace

Result<std::unique_ptr<Strategy>> MakeCo2(const Co2Options& o) {
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<Reducer> reducer, Reducer::Create(o.codec));
  return std::unique_ptr<Strategy>(new Co2(o, std::move(reducer)));
}

}  // namespace tern::algo
