// Identities between strategies (the "Identities" tests).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/algo/harness.h"

namespace tern {
namespace {

using testing::RunThreadRanks;
using testing::ToyWorker;

constexpr size_t kLayers = 3, kPerLayer = 5;

void ExpectClose(const std::vector<float>& a, const std::vector<float>& b, float rel) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_LE(std::fabs(a[i] - b[i]), rel * std::max(1.0f, std::fabs(a[i]))) << "element " << i;
  }
}

// Parameters after every step, per rank.
std::vector<std::vector<std::vector<float>>> Trajectory(int ranks, const StrategyConfig& config,
                                                        int steps, float lr) {
  std::vector<std::vector<std::vector<float>>> out(ranks);
  RunThreadRanks(ranks, [&](int r, Communicator& comm, StaticWorld& world) {
    ToyWorker w(r, kLayers, kPerLayer);
    auto s = testing::MakeStrategy(config);
    ASSERT_NE(s, nullptr);
    ALGO_ASSERT_OK(s->Attach(&comm, &world, w.Buffers()));
    for (int t = 0; t < steps; ++t) {
      ALGO_ASSERT_OK(testing::ToyStep(w, *s, t, lr));
      out[r].push_back(w.params);
    }
  });
  return out;
}

TEST(StrategyIdentityTest, DiLoCoWithH1AndPlainOuterSgdIsDataParallelSgd) {
  DiLoCoOptions d;
  d.sync_every = 1;
  d.outer = {.rule = OuterRule::kSgd, .lr = 1.0f, .momentum = 0.0f};
  auto diloco = Trajectory(2, d, 25, 0.1f);
  auto ddp = Trajectory(2, DataParallelOptions{}, 25, 0.1f);
  for (int t = 0; t < 25; ++t) {
    ExpectClose(ddp[0][t], diloco[0][t], 2e-6f);
    EXPECT_EQ(ddp[0][t], ddp[1][t]);
    EXPECT_EQ(diloco[0][t], diloco[1][t]);
  }
  EXPECT_NE(ddp[0][0], ddp[0][24]);  // it trained
}

// Parameters before and after each sync step, per rank.
struct SyncTrace {
  std::vector<std::vector<float>> before, after;
};

std::vector<SyncTrace> SyncTraces(int ranks, const StrategyConfig& config, int h, int steps) {
  std::vector<SyncTrace> out(ranks);
  RunThreadRanks(ranks, [&](int r, Communicator& comm, StaticWorld& world) {
    ToyWorker w(r, kLayers, kPerLayer);
    auto s = testing::MakeStrategy(config);
    ASSERT_NE(s, nullptr);
    ALGO_ASSERT_OK(s->Attach(&comm, &world, w.Buffers()));
    for (int t = 0; t < steps; ++t) {
      w.Backward(t);
      w.Sgd(0.05f);
      if ((t + 1) % h == 0) out[r].before.push_back(w.params);
      ALGO_ASSERT_OK(s->AfterOptimizerStep({.step = t}));
      if ((t + 1) % h == 0) out[r].after.push_back(w.params);
    }
  });
  return out;
}

void ExpectSyncIsAverage(const std::vector<SyncTrace>& traces, float rel) {
  const size_t ranks = traces.size(), syncs = traces[0].before.size();
  ASSERT_GT(syncs, 0u);
  for (size_t k = 0; k < syncs; ++k) {
    std::vector<float> mean(traces[0].before[k].size(), 0.0f);
    for (size_t r = 0; r < ranks; ++r) {
      for (size_t i = 0; i < mean.size(); ++i) mean[i] += traces[r].before[k][i];
    }
    for (float& m : mean) m /= static_cast<float>(ranks);
    for (size_t r = 0; r < ranks; ++r) ExpectClose(mean, traces[r].after[k], rel);
  }
}

TEST(StrategyIdentityTest, NoLoCoWithWholeWorldEtaOneNoMomentumIsParameterAveraging) {
  NoLoCoOptions n;
  n.sync_every = 4;
  n.group_size = 0;
  n.lr = 1.0f;
  n.momentum = 0.0f;
  ExpectSyncIsAverage(SyncTraces(3, n, 4, 16), 2e-6f);
}

TEST(StrategyIdentityTest, LocalSgdIsParameterAveraging) {
  LocalSgdOptions l;
  l.sync_every = 4;
  ExpectSyncIsAverage(SyncTraces(3, l, 4, 16), 2e-6f);
}

TEST(StrategyIdentityTest, NoLoCoPairsAverageWithinPairsOnly) {
  NoLoCoOptions n;
  n.sync_every = 4;
  n.lr = 1.0f;
  n.momentum = 0.0f;
  auto traces = SyncTraces(4, n, 4, 8);
  // After each sync, exactly two pairs of ranks hold the same parameters (to
  // fp32 rounding: phi_i + (phi_bar + d_bar - phi_i) rounds differently per
  // member once the phis differ).
  auto close = [](const std::vector<float>& a, const std::vector<float>& b) {
    for (size_t i = 0; i < a.size(); ++i) {
      if (std::fabs(a[i] - b[i]) > 1e-5f * std::max(1.0f, std::fabs(a[i]))) return false;
    }
    return true;
  };
  for (size_t k = 0; k < traces[0].after.size(); ++k) {
    int close_pairs = 0;
    for (int a = 0; a < 4; ++a) {
      for (int b = a + 1; b < 4; ++b) close_pairs += close(traces[a].after[k], traces[b].after[k]);
    }
    EXPECT_EQ(close_pairs, 2) << "sync " << k;
  }
}

// ZO: every rank regenerates every peer's perturbation and applies the same
// decoded scalars, so parameters stay bit-identical; and it learns.
TEST(StrategyIdentityTest, ZerothOrderKeepsRanksBitIdenticalAndLearns) {
  for (ZoWire wire : {ZoWire::kByte, ZoWire::kFloat32}) {
    std::vector<std::vector<uint64_t>> hashes(3);
    std::vector<float> first_loss(3), last_loss(3);
    RunThreadRanks(3, [&](int r, Communicator& comm, StaticWorld& world) {
      ToyWorker w(r, kLayers, kPerLayer);
      ZerothOrderOptions o;
      o.lr = 0.05f;
      o.eps = 1e-2f;
      o.wire = wire;
      o.common.seed = 5;
      auto s = testing::MakeStrategy(o);
      ASSERT_NE(s, nullptr);
      ASSERT_TRUE(s->ZerothOrder());
      ALGO_ASSERT_OK(s->Attach(&comm, &world, {.parameters = w.params, .layout = w.layout}));
      auto loss = [&]() -> Result<float> {
        float sum = 0.0f;
        for (size_t i = 0; i < w.params.size(); ++i) {
          const float d = w.params[i] - 0.5f * static_cast<float>(r + 1);
          sum += 0.5f * d * d;
        }
        return sum;
      };
      first_loss[r] = *loss();
      for (int t = 0; t < 300; ++t) {
        ALGO_ASSERT_OK(s->ZerothOrderStep({.step = t}, loss));
        hashes[r].push_back(testing::HashFloats(w.params));
      }
      last_loss[r] = *loss();
      EXPECT_EQ(s->step(), 300);
      EXPECT_LE(s->stats().peak_message_bytes, 256u);  // one byte (or four) plus framing
    });
    EXPECT_EQ(hashes[0], hashes[1]);
    EXPECT_EQ(hashes[0], hashes[2]);
    // The shared model moves towards the ranks' mean target (1.0): the mean
    // loss over ranks drops.
    EXPECT_LT(last_loss[0] + last_loss[1] + last_loss[2],
              0.5f * (first_loss[0] + first_loss[1] + first_loss[2]));
  }
}

}  // namespace
}  // namespace tern
