// Data-parallel SGD: after every backward pass the gradients are replaced by
// their average over the world, as one all-reduce of the flat buffer (plain,
// through a codec, or with error feedback), or per parameter with PowerSGD.
//
// State. Replicated: the model's parameters (every peer applies the same
// averaged gradient), the trainer's optimizer state, replicated
// error-feedback state. Per-peer: residuals, PowerSGD's state. Joiner rule:
// everything that matters arrives with the sync; PowerSGD state restarts.
//
// PowerSGD runs one all-reduce pair per parameter, so a failure can come
// after some parameters were averaged: the gradients are restored from a
// snapshot and this peer's PowerSGD state is reset (the averaged result stays
// identical on all peers even when their warm starts differ, because P and Q
// are themselves all-reduced).
#include <charconv>
#include <memory>
#include <optional>
#include <vector>

#include "algo/outer_optimizer.h"
#include "algo/reducer.h"
#include "algo/strategies.h"
#include "algo/strategy_base.h"

namespace tern::algo {
namespace {

// "powersgd" or "powersgd:rank=R" -> R; nullopt for other specs.
Result<std::optional<int>> PowerSgdRank(std::string_view spec) {
  constexpr std::string_view kName = "powersgd";
  if (spec.substr(0, kName.size()) != kName) return std::optional<int>();
  std::string_view rest = spec.substr(kName.size());
  if (rest.empty()) return std::optional<int>(1);
  constexpr std::string_view kRank = ":rank=";
  int rank = 0;
  if (rest.substr(0, kRank.size()) == kRank) {
    rest = rest.substr(kRank.size());
    auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), rank);
    if (ec == std::errc() && p == rest.data() + rest.size() && rank >= 1 && rank <= 1024) {
      return std::optional<int>(rank);
    }
  }
  return InvalidArgumentError("bad PowerSGD spec '" + std::string(spec) +
                              "' (powersgd or powersgd:rank=R, 1 <= R <= 1024)");
}

class DataParallel final : public StrategyBase {
 public:
  DataParallel(const DataParallelOptions& o, std::unique_ptr<Reducer> reducer,
               std::optional<int> powersgd_rank)
      : StrategyBase(StrategyConfig(o), o.common), reducer_(std::move(reducer)) {
    if (powersgd_rank) {
      powersgd_ = std::make_unique<PowerSgd>(
          PowerSgdOptions{.rank = *powersgd_rank, .seed = o.common.seed});
    }
  }

  Status AfterBackward(const StepInfo&) override {
    TERN_RETURN_IF_ERROR(RequireAttached());
    if (powersgd_) return ReducePowerSgd();
    Status s = Counted(reducer_->Options(common_, 0, step_), [&](const AllReduceOptions& o) {
      return comm_->AllReduce(TensorView::Of(grads_), o);
    });
    if (!s.ok()) return Failed(s);
    ++stats_.syncs;
    return OkStatus();
  }

  Status AfterOptimizerStep(const StepInfo&) override {
    TERN_RETURN_IF_ERROR(RequireAttached());
    ++step_;
    return OkStatus();
  }

 protected:
  bool OptimizerStateReplicated() const override { return true; }

  Status OnAttach() override {
    if (powersgd_) {
      snapshot_.assign(grads_.size(), 0.0f);
      for (const ParamSlice& p : layout_) {
        TensorView v = TensorView::Of(grads_.subspan(p.offset, p.numel));
        if (p.shape.size() >= 2) {
          TERN_ASSIGN_OR_RETURN(v.shape, Shape::FromVector(p.shape));
          if (v.numel() != p.numel) {
            return InvalidArgumentError("shape of '" + p.name + "' does not match its size");
          }
        }
        views_.push_back(v);
      }
    }
    return OkStatus();
  }

  Status AppendState(std::vector<StateTensor>* out) override {
    out->push_back({"model.params", true, params_});
    return reducer_->AppendState(0, params_.size(), "gradient", out);
  }

  Status ReinitPerPeer() override {
    if (powersgd_) powersgd_->ResetAll();
    return OkStatus();
  }

 private:
  Status ReducePowerSgd() {
    CopyInto(snapshot_, grads_);
    for (size_t i = 0; i < views_.size(); ++i) {
      Status s = Counted(PlainOptions(ReduceOp::kAvg), [&](const AllReduceOptions& o) {
        return powersgd_->AllReduce(*comm_, i, views_[i], o);
      });
      if (!s.ok()) {
        CopyInto(grads_, snapshot_);
        powersgd_->ResetAll();
        return Failed(s);
      }
    }
    ++stats_.syncs;
    return OkStatus();
  }

  std::unique_ptr<Reducer> reducer_;
  std::unique_ptr<PowerSgd> powersgd_;
  std::vector<TensorView> views_;  // PowerSGD: one per parameter
  std::vector<float> snapshot_;
};

}  // namespace

Result<std::unique_ptr<Strategy>> MakeDataParallel(const DataParallelOptions& o) {
  TERN_ASSIGN_OR_RETURN(std::optional<int> rank, PowerSgdRank(o.codec));
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<Reducer> reducer,
                        Reducer::Create(rank ? std::string_view() : std::string_view(o.codec)));
  return std::unique_ptr<Strategy>(new DataParallel(o, std::move(reducer), rank));
}

}  // namespace tern::algo
