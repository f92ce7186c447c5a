// Strategy API contracts: argument errors, metadata checks, CO2's clipping,
// NoLoCo's donor copy and DiLoCo's re-initialisation at a safe point whose
// sync replaced replicated state (the sync simulated in memory).
#include <gtest/gtest.h>

#include <barrier>
#include <cmath>
#include <vector>

#include "algo/metadata.h"
#include "tests/algo/harness.h"

namespace tern {
namespace {

using testing::RunThreadRanks;
using testing::ToyWorker;

TEST(StrategyApiTest, HooksBeforeAttachAreFailedPrecondition) {
  auto s = testing::MakeStrategy(DiLoCoOptions{});
  EXPECT_EQ(s->AfterOptimizerStep({}).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s->AfterBackward({}).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s->BeforeSafePoint().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(s->State().empty());
  std::vector<float> out(3);
  EXPECT_EQ(s->GlobalParameters(out).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s->name(), "diloco");
  EXPECT_EQ(s->config().substr(0, 9), "diloco:h=");
}

TEST(StrategyApiTest, BadCodecSpecIsInvalidArgument) {
  DiLoCoOptions o;
  o.codec = "int9";
  EXPECT_EQ(Strategy::Create(o).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Strategy::Create("ddp", {{"codec", "powersgd:rank=x"}}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(StrategyApiTest, AttachChecksBuffersAndLayout) {
  RunThreadRanks(1, [&](int, Communicator& comm, StaticWorld& world) {
    std::vector<float> p(8), g(7);
    auto s = testing::MakeStrategy(DiLoCoOptions{});
    EXPECT_EQ(s->Attach(&comm, &world, {.parameters = p, .gradients = g}).code(),
              StatusCode::kInvalidArgument);
    g.resize(8);
    ModelBuffers gap{.parameters = p, .gradients = g,
                     .layout = {{.name = "a", .offset = 0, .numel = 4, .shape = {}},
                                {.name = "b", .offset = 5, .numel = 3, .shape = {}}}};
    EXPECT_EQ(s->Attach(&comm, &world, gap).code(), StatusCode::kInvalidArgument);
    StreamingDiLoCoOptions st;
    st.fragments = 4;
    auto streaming = testing::MakeStrategy(st);
    // One layer ("params"), four fragments.
    EXPECT_EQ(streaming->Attach(&comm, &world, {.parameters = p, .gradients = g}).code(),
              StatusCode::kInvalidArgument);
    ALGO_ASSERT_OK(s->Attach(&comm, &world, {.parameters = p, .gradients = g}));
    EXPECT_EQ(s->Attach(&comm, &world, {.parameters = p, .gradients = g}).code(),
              StatusCode::kFailedPrecondition);
    EXPECT_EQ(s->ZerothOrderStep({}, [] { return Result<float>(0.0f); }).code(),
              StatusCode::kUnimplemented);
  });
}

TEST(StrategyApiTest, StateListsReplicatedFirstWithStableNames) {
  RunThreadRanks(1, [&](int r, Communicator& comm, StaticWorld& world) {
    ToyWorker w(r, 2, 3);
    DiLoCoOptions o;
    o.codec = "ef21(int8:block=4)";
    auto s = testing::MakeStrategy(o);
    ALGO_ASSERT_OK(s->Attach(&comm, &world, w.Buffers()));
    std::vector<std::string> names;
    bool seen_per_peer = false;
    for (const StateTensor& t : s->State()) {
      names.push_back(t.name);
      if (!t.replicated) seen_per_peer = true;
      EXPECT_FALSE(t.replicated && seen_per_peer) << t.name << " after a per-peer entry";
    }
    EXPECT_EQ(names, (std::vector<std::string>{"outer.params", "outer.state1",
                                               "pseudo_gradient.ef.g", "pseudo_gradient.ef.g_i",
                                               "model.params"}));
  });
}

TEST(StrategyApiTest, MetadataOfAnotherConfigIsRefused) {
  RunThreadRanks(1, [&](int r, Communicator& comm, StaticWorld& world) {
    ToyWorker w(r, 1, 4);
    DiLoCoOptions a, b;
    b.sync_every = 7;
    auto sa = testing::MakeStrategy(a), sb = testing::MakeStrategy(b);
    ALGO_ASSERT_OK(sa->Attach(&comm, &world, w.Buffers()));
    EXPECT_EQ(sa->SetReplicatedMetadata(sb->ReplicatedMetadata()).code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(sa->SetReplicatedMetadata("garbage").code(), StatusCode::kDataLoss);
    std::string meta = sa->ReplicatedMetadata();
    ALGO_ASSERT_OK(sa->SetReplicatedMetadata(meta));
    EXPECT_EQ(sa->ReplicatedMetadata(), meta);
  });
}

// Outer momentum, optionally clipped, after a few CO2 rounds on 2 ranks.
std::vector<float> Co2Momentum(bool clip, float threshold) {
  std::vector<float> out;
  RunThreadRanks(2, [&](int r, Communicator& comm, StaticWorld& world) {
    ToyWorker w(r, 2, 8);
    Co2Options o;
    o.sync_every = 2;
    o.clip = clip;
    o.clip_threshold = threshold;
    auto s = testing::MakeStrategy(o);
    ALGO_ASSERT_OK(s->Attach(&comm, &world, w.Buffers()));
    for (int t = 0; t < 12; ++t) ALGO_ASSERT_OK(testing::ToyStep(w, *s, t, 0.5f));
    ALGO_ASSERT_OK(s->Finish());
    if (r == 0) {
      for (const StateTensor& t : s->State()) {
        if (t.name == "outer.state1") out.assign(t.values.begin(), t.values.end());
      }
    }
  });
  return out;
}

TEST(StrategyApiTest, Co2ClippingActuallyClips) {
  const float c = 0.01f;
  std::vector<float> free = Co2Momentum(false, c), clipped = Co2Momentum(true, c);
  ASSERT_EQ(free.size(), 16u);
  float max_free = 0, max_clipped = 0;
  for (float m : free) max_free = std::max(max_free, std::fabs(m));
  for (float m : clipped) max_clipped = std::max(max_clipped, std::fabs(m));
  EXPECT_GT(max_free, 10 * c);  // without clipping the momentum is large
  EXPECT_LE(max_clipped, c);    // the reference discards the clamp; we apply it
  EXPECT_EQ(max_clipped, c);
}

// Simulates a safe point that admits the last rank: the others were the
// members (`members`, their peer ids) at the previous safe point; the sync
// gives every rank rank 0's replicated tensors and metadata.
void SimulatedSafePoint(int r, Strategy& s, std::vector<std::vector<float>>* published,
                        std::string* published_meta, std::barrier<>& fence,
                        const std::vector<uint64_t>& members) {
  algo::Metadata own = *algo::DecodeMetadata(s.ReplicatedMetadata());
  own.members = members;
  ALGO_ASSERT_OK(s.SetReplicatedMetadata(algo::EncodeMetadata(own)));
  ALGO_ASSERT_OK(s.BeforeSafePoint());
  if (r == 0) {
    published->clear();
    for (const StateTensor& t : s.State()) {
      if (t.replicated) published->emplace_back(t.values.begin(), t.values.end());
    }
    *published_meta = s.ReplicatedMetadata();
  }
  fence.arrive_and_wait();
  size_t k = 0;
  for (const StateTensor& t : s.State()) {
    if (t.replicated) std::copy((*published)[k].begin(), (*published)[k].end(), t.values.begin()), ++k;
  }
  ALGO_ASSERT_OK(s.SetReplicatedMetadata(*published_meta));
  fence.arrive_and_wait();
  ALGO_ASSERT_OK(s.AfterSafePoint());
}

TEST(StrategyApiTest, DiLoCoJoinerAndRepairedPeerRestartFromOuterParameters) {
  std::vector<std::vector<float>> published;
  std::string meta;
  std::barrier fence(3);
  std::vector<uint64_t> hashes(3);
  RunThreadRanks(3, [&](int r, Communicator& comm, StaticWorld& world) {
    ToyWorker w(r, 2, 4);
    DiLoCoOptions o;
    o.sync_every = 3;
    auto s = testing::MakeStrategy(o);
    ALGO_ASSERT_OK(s->Attach(&comm, &world, w.Buffers()));
    for (int t = 0; t < 4; ++t) ALGO_ASSERT_OK(testing::ToyStep(w, *s, t, 0.1f));
    w.params.assign(w.params.size(), 99.0f);  // local progress
    if (r == 1) s->State()[0].values[0] += 1.0f;  // outer.params diverged: repaired
    if (r == 2) {
      // Rank 2 plays a fresh joiner: garbage state, an unknown step.
      for (const StateTensor& t : s->State()) std::fill(t.values.begin(), t.values.end(), -5.0f);
    }
    // Members before this safe point: peer ids 1 and 2 (rank 2 = id 3 joins).
    SimulatedSafePoint(r, *s, &published, &meta, fence, {1, 2});
    std::vector<float> outer(w.params.size());
    ALGO_ASSERT_OK(s->GlobalParameters(outer));
    if (r == 0) EXPECT_EQ(w.params, std::vector<float>(w.params.size(), 99.0f)) << "kept";
    if (r >= 1) EXPECT_EQ(w.params, outer) << "rank " << r << " restarts from the outer params";
    EXPECT_EQ(s->step(), 4);
    for (int t = 4; t < 9; ++t) ALGO_ASSERT_OK(testing::ToyStep(w, *s, t, 0.1f));
    hashes[r] = testing::ReplicatedHash(*s);
  });
  EXPECT_EQ(hashes[0], hashes[1]);
  EXPECT_EQ(hashes[0], hashes[2]);
}

TEST(StrategyApiTest, NoLoCoJoinerCopiesTheDonorsOuterParameters) {
  std::vector<std::vector<float>> published;
  std::string meta;
  std::barrier fence(4);
  std::vector<std::vector<float>> phi(4), momentum(4);
  RunThreadRanks(4, [&](int r, Communicator& comm, StaticWorld& world) {
    ToyWorker w(r, 2, 4);
    NoLoCoOptions o;
    o.sync_every = 2;
    auto s = testing::MakeStrategy(o);
    ALGO_ASSERT_OK(s->Attach(&comm, &world, w.Buffers()));
    for (int t = 0; t < 6; ++t) ALGO_ASSERT_OK(testing::ToyStep(w, *s, t, 0.1f));
    if (r == 3) w.params.assign(w.params.size(), -7.0f);
    SimulatedSafePoint(r, *s, &published, &meta, fence, {1, 2, 3});
    for (const StateTensor& t : s->State()) {
      if (t.name == "noloco.phi") phi[r].assign(t.values.begin(), t.values.end());
      if (t.name == "noloco.momentum") momentum[r].assign(t.values.begin(), t.values.end());
    }
    if (r == 3) EXPECT_EQ(w.params, phi[3]);
    for (int t = 6; t < 10; ++t) ALGO_ASSERT_OK(testing::ToyStep(w, *s, t, 0.1f));
  });
  EXPECT_EQ(phi[3], phi[0]) << "the joiner copies the lowest-id member's phi";
  EXPECT_EQ(momentum[3], std::vector<float>(momentum[3].size(), 0.0f));
  EXPECT_NE(momentum[0], momentum[3]);
}

}  // namespace
}  // namespace tern
