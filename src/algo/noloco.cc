// NoLoCo (Kolehmainen et al. 2025; gensyn-ai/noloco sparse_optimizer_c.py).
//
// Words: phi_i this peer's outer parameters, theta_i its local parameters,
// m_i its outer momentum (all per-peer), G its group at this round, eta the
// lr, beta the momentum. Every H-th inner step (round r = c / H):
//   G = RandomGroups(seed, r, members, group_size)      (pairing.h)
//   exchange (phi_j, theta_j - phi_j) with the other members of G
//   phi_bar = mean_G phi_j ;  d_bar = mean_G (theta_j - phi_j)
//   m_i = beta * m_i + eta * d_bar + eta * (phi_bar - phi_i)
//   phi_i = phi_i + m_i ;  theta_i = phi_i
// Means are summed in the group's peer-id order and divided by |G|, so the
// members of a group compute the same bits. A group of the whole world uses
// one all-reduce; smaller groups use SendRecv with each other member, in
// increasing peer-id order (deadlock-free: pairs proceed in lexicographic
// order).
//
// State. Replicated: only the step and member list. Per-peer: phi, m, theta.
// Joiner rule: phi copied from the donor (the lowest-id old member) by a
// point-to-point transfer in AfterSafePoint; m = 0; theta = phi. The
// donor's copy is an overwrite, so a safe point retried after a partial
// transfer repeats it harmlessly.
//
// Exactly once under retry. A round's exchange can succeed on some members
// and fail on others (a fault after the exchange, before the commit). The
// safe point then elects one step for all of them, and since phi and m are
// per-peer it cannot undo a commit:
//   - the run goes back to before the round (a failed member's step won):
//     the members that committed take part in the repeated round with the
//     contribution they sent the first time (committed_send_ keeps it, even
//     if a later round's attempt failed meanwhile), so the others receive
//     the same values, and do not apply the round again; a run sent back
//     past a member's last commit is kFailedPrecondition (its earlier
//     contributions are gone);
//   - the run is past the round (a committed member's step won): the failed
//     member's retried hook finds its step already reached and returns
//     without advancing the step a second time (it misses that round's
//     update, which its partners applied without it).
#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "algo/outer_optimizer.h"
#include "algo/pairing.h"
#include "algo/strategies.h"
#include "algo/strategy_base.h"

namespace tern::algo {
namespace {

class NoLoCo final : public StrategyBase {
 public:
  NoLoCo(const NoLoCoOptions& o, NoLoCoFault fault)
      : StrategyBase(StrategyConfig(o), o.common),
        o_(o),
        fault_(std::move(fault)) {}

  Status AfterOptimizerStep(const StepInfo&) override {
    TERN_RETURN_IF_ERROR(RequireAttached());
    if (failed_target_ != 0 && step_ >= failed_target_) {
      failed_target_ = 0;  // a safe point moved the run past the failed step
      return OkStatus();
    }
    const uint64_t c = step_ + 1, h = static_cast<uint64_t>(o_.sync_every);
    if (c % h != 0) {
      step_ = c;
      failed_target_ = 0;
      return OkStatus();
    }
    if (c < committed_) {
      return FailedPreconditionError(
          "noloco: the run went back to round step " + std::to_string(c) +
          ", but this peer already committed round step " +
          std::to_string(committed_) +
          " (its contributions to earlier rounds are gone)");
    }
    const size_t n = params_.size();
    const bool applied = c == committed_;
    if (applied) {
      send_ = committed_send_;  // what this peer sent the first time
    } else {
      CopyInto(std::span<float>(send_).first(n), phi_);
      Difference(params_, phi_, std::span<float>(send_).subspan(n));
    }
    Status s = fault_ ? fault_(c, false) : OkStatus();
    if (s.ok()) s = GroupMean(c / h);
    if (s.ok() && fault_) s = fault_(c, true);
    if (!s.ok()) {
      failed_target_ = c;
      return Failed(s);
    }
    failed_target_ = 0;
    step_ = c;
    if (applied)
      return OkStatus();  // this peer's update for round c is in phi already
    const float beta = o_.momentum, eta = o_.lr;
    for (size_t i = 0; i < n; ++i) {
      const float phi_bar = mean_[i], d_bar = mean_[n + i];
      momentum_[i] =
          beta * momentum_[i] + eta * d_bar + eta * (phi_bar - phi_[i]);
      phi_[i] = phi_[i] + momentum_[i];
    }
    CopyInto(params_, phi_);
    committed_ = c;
    send_.swap(committed_send_);
    ++stats_.syncs;
    return OkStatus();
  }

 protected:
  Status OnAttach() override {
    const size_t n = params_.size();
    phi_.assign(params_.begin(), params_.end());
    momentum_.assign(n, 0.0f);
    send_.assign(2 * n, 0.0f);
    committed_send_.assign(2 * n, 0.0f);
    mean_.assign(2 * n, 0.0f);
    return OkStatus();
  }

  Status AppendState(std::vector<StateTensor>* out) override {
    out->push_back({"noloco.phi", false, phi_});
    out->push_back({"noloco.momentum", false, momentum_});
    out->push_back({"model.params", false, params_});
    return OkStatus();
  }

  Status OnMembersJoined(const std::vector<uint64_t>& old_members,
                         const std::vector<uint64_t>& joiners) override {
    if (old_members.empty())
      return OkStatus();  // a fresh start: nobody to copy from
    const WorldView view = world_->View();
    const uint64_t self = view.self().peer_id, donor = old_members.front();
    if (self == donor) {
      for (uint64_t j : joiners) {
        TERN_RETURN_IF_ERROR(
            Counted(P2pOptions(), [&](const CollectiveOptions& o) {
              return comm_->Send(view.RankOf(j), TensorView::Of(phi_), o);
            }));
      }
    } else if (std::binary_search(joiners.begin(), joiners.end(), self)) {
      std::vector<float> received(phi_.size());
      TERN_RETURN_IF_ERROR(
          Counted(P2pOptions(), [&](const CollectiveOptions& o) {
            return comm_->Recv(view.RankOf(donor), TensorView::Of(received), o);
          }));
      CopyInto(phi_, received);  // in place: State() spans point into phi_
      std::fill(momentum_.begin(), momentum_.end(), 0.0f);
      CopyInto(params_, phi_);
    }
    return OkStatus();
  }

 private:
  // mean_ = the mean of send_ over this round's group.
  Status GroupMean(uint64_t round) {
    const WorldView view = world_->View();
    std::vector<uint64_t> ids;
    for (const PeerInfo& p : view.peers) ids.push_back(p.peer_id);
    const uint64_t self = view.self().peer_id;
    std::vector<uint64_t> group =
        GroupOf(RandomGroups(common_.seed, round, ids, o_.group_size), self);
    CopyInto(mean_, send_);
    if (group.size() <= 1) return OkStatus();
    if (group.size() == ids.size()) {
      return Counted(PlainOptions(ReduceOp::kAvg),
                     [&](const AllReduceOptions& o) {
                       return comm_->AllReduce(TensorView::Of(mean_), o);
                     });
    }
    std::vector<std::vector<float>> recv(group.size());
    for (size_t j = 0; j < group.size(); ++j) {
      if (group[j] == self) continue;
      recv[j].resize(send_.size());
      TERN_RETURN_IF_ERROR(
          Counted(P2pOptions(), [&](const CollectiveOptions& o) {
            return comm_->SendRecv(view.RankOf(group[j]), TensorView::Of(send_),
                                   TensorView::Of(recv[j]), o);
          }));
    }
    const float k = static_cast<float>(group.size());
    for (size_t i = 0; i < send_.size(); ++i) {
      float sum = 0.0f;
      for (size_t j = 0; j < group.size(); ++j) {
        sum = sum + (group[j] == self ? send_[i] : recv[j][i]);
      }
      mean_[i] = sum / k;
    }
    return OkStatus();
  }

  const NoLoCoOptions o_;
  const NoLoCoFault fault_;  // tests only
  // Per-peer: the last round step this peer applied, and the step a failed
  // hook was for (0: none). See "Exactly once under retry" above.
  uint64_t committed_ = 0;
  uint64_t failed_target_ = 0;
  std::vector<float> phi_, momentum_;
  std::vector<float> send_;            // [phi, theta - phi]
  std::vector<float> committed_send_;  // send_ of round committed_
  std::vector<float> mean_;            // [phi_bar, d_bar]
};

}  // namespace

Result<std::unique_ptr<Strategy>> MakeNoLoCo(const NoLoCoOptions& o,
                                             NoLoCoFault fault) {
  return std::unique_ptr<Strategy>(new NoLoCo(o, std::move(fault)));
}

}  // namespace tern::algo
