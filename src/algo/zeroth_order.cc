// Zeroth-order SGD with shared randomness (two-point SPSA; "Just One Byte").
//
// At step s (the replicated counter), peer i with stable id p_i:
//   z_i = Perturbation(seed, s, p_i)                       (zo.h)
//   g_i = (L(theta + eps z_i) - L(theta - eps z_i)) / (2 eps)
//   send g_i as one byte (or fp32) to everyone (AllGatherBytes)
//   every peer: for j in rank order: theta += (-lr * g_j / N) * z_j
// where g_j is the *decoded* value, also for the peer's own, so every peer
// applies the same bits. The perturbed parameters are restored from a copy,
// never by subtracting, so a failed step leaves theta exactly as it was.
// A retried step reuses this peer's g (same step, same parameters).
//
// State. Replicated: the model's parameters (and the trainer's optimizer
// state, unused here). Per-peer: nothing. Joiner rule: the parameters
// arrive with the sync.
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "algo/outer_optimizer.h"
#include "algo/strategies.h"
#include "algo/strategy_base.h"
#include "algo/zo.h"

namespace tern::algo {
namespace {

class ZoStrategy final : public StrategyBase {
 public:
  explicit ZoStrategy(const ZerothOrderOptions& o)
      : StrategyBase(StrategyConfig(o), o.common), o_(o) {
    needs_gradients_ = false;
  }

  bool ZerothOrder() const override { return true; }

  Status AfterOptimizerStep(const StepInfo&) override {
    return FailedPreconditionError("zo takes ZerothOrderStep instead of the first-order hooks");
  }

  Status ZerothOrderStep(const StepInfo&, const LossFn& loss) override {
    TERN_RETURN_IF_ERROR(RequireAttached());
    const WorldView view = world_->View();
    if (!cached_ || cached_step_ != step_) {
      Result<float> g = ProjectedGradient(view.self().peer_id, loss);
      if (!g.ok()) return Failed(g.status());
      cached_g_ = *g;
      cached_step_ = step_;
      cached_ = true;
    }
    std::vector<std::string> all;
    CollectiveOptions options = P2pOptions();
    options.max_blob_bytes = 4;
    Status s = Counted(options, [&](const CollectiveOptions& o) {
      return comm_->AllGatherBytes(Encode(cached_g_), &all, o);
    });
    if (!s.ok()) return Failed(s);
    std::vector<float> g(all.size());
    for (size_t j = 0; j < all.size(); ++j) {
      Result<float> v = Decode(all[j]);
      if (!v.ok()) return Failed(v.status());
      g[j] = *v;
    }
    const float scale = -o_.lr / static_cast<float>(all.size());
    for (size_t j = 0; j < all.size(); ++j) {
      AddPerturbation(common_.seed, step_, view.peers[j].peer_id, o_.distribution, scale * g[j],
                      params_);
    }
    ++step_;
    cached_ = false;
    ++stats_.syncs;
    return OkStatus();
  }

 protected:
  bool OptimizerStateReplicated() const override { return true; }

  Status OnAttach() override {
    saved_.assign(params_.size(), 0.0f);
    return OkStatus();
  }

  Status AppendState(std::vector<StateTensor>* out) override {
    out->push_back({"model.params", true, params_});
    return OkStatus();
  }

  Status ReinitPerPeer() override {
    cached_ = false;  // the parameters changed under the cached g
    return OkStatus();
  }

 private:
  // Two loss evaluations around theta along this peer's direction; theta is
  // restored from a copy whatever happens.
  Result<float> ProjectedGradient(uint64_t peer_id, const LossFn& loss) {
    CopyInto(saved_, params_);
    float losses[2] = {0, 0};
    for (int k = 0; k < 2; ++k) {
      const float coef = k == 0 ? o_.eps : -o_.eps;
      AddPerturbation(common_.seed, step_, peer_id, o_.distribution, coef, params_);
      Result<float> l = loss();
      CopyInto(params_, saved_);
      if (!l.ok()) return l.status();
      losses[k] = *l;
    }
    return (losses[0] - losses[1]) / (2.0f * o_.eps);
  }

  std::string Encode(float g) const {
    if (o_.wire == ZoWire::kByte) return std::string(1, static_cast<char>(EncodeZoByte(g, o_.byte_scale)));
    if (!std::isfinite(g)) g = 0.0f;  // documented: a non-finite g is sent as 0
    std::string out(4, '\0');
    uint32_t u;
    std::memcpy(&u, &g, 4);
    for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(u >> (8 * i));
    return out;
  }

  // A peer's scalar; the bytes are untrusted.
  Result<float> Decode(const std::string& b) const {
    if (o_.wire == ZoWire::kByte) {
      if (b.size() != 1) return DataLossError("zo: a peer sent " + std::to_string(b.size()) +
                                              " bytes, want 1");
      return DecodeZoByte(static_cast<uint8_t>(b[0]), o_.byte_scale);
    }
    if (b.size() != 4) return DataLossError("zo: a peer's scalar is not 4 bytes");
    uint32_t u = 0;
    for (int i = 0; i < 4; ++i) u |= static_cast<uint32_t>(static_cast<uint8_t>(b[i])) << (8 * i);
    float g;
    std::memcpy(&g, &u, 4);
    if (!std::isfinite(g)) return DataLossError("zo: a peer's scalar is not finite");
    return g;
  }

  const ZerothOrderOptions o_;
  std::vector<float> saved_;
  bool cached_ = false;
  uint64_t cached_step_ = 0;
  float cached_g_ = 0.0f;
};

}  // namespace

Result<std::unique_ptr<Strategy>> MakeZerothOrder(const ZerothOrderOptions& o) {
  return std::unique_ptr<Strategy>(new ZoStrategy(o));
}

}  // namespace tern::algo
