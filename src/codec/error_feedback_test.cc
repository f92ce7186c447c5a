#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "codec/test_util.h"
#include "tern/codec.h"

namespace tern {
namespace {

using codec::testing::Gaussian;

// A least-squares problem split across W workers with different data:
//   f_w(x) = 1/2 sum_j h_wj (x_j - c_wj)^2 + 1/2 (u_w . x - v_w)^2
// (rows: a scaled identity block plus one dense row per worker), and
// f = mean_w f_w. Each worker's optimum differs, so at the global optimum
// the workers' gradients are large and cancel only in the mean: exactly the
// case where compressing without feedback stalls.
struct Problem {
  static constexpr int kWorkers = 4;
  size_t d;
  std::vector<std::vector<float>> h, c, u;
  std::vector<float> v;

  explicit Problem(size_t dim) : d(dim) {
    for (int w = 0; w < kWorkers; ++w) {
      std::vector<float> hw = Gaussian(d, 100 + w), cw = Gaussian(d, 200 + w, 2.0f),
                         uw = Gaussian(d, 300 + w, 1.0f / std::sqrt(static_cast<float>(d)));
      for (float& x : hw) x = 1.0f + 0.5f * std::tanh(x);  // in (0.5, 1.5)
      h.push_back(hw), c.push_back(cw), u.push_back(uw);
      v.push_back(static_cast<float>(w) - 1.5f);
    }
  }
  void Gradient(int w, const std::vector<float>& x, std::vector<float>* g) const {
    double ux = 0;
    for (size_t j = 0; j < d; ++j) ux += static_cast<double>(u[w][j]) * x[j];
    const float r = static_cast<float>(ux - v[w]);
    g->resize(d);
    for (size_t j = 0; j < d; ++j) (*g)[j] = h[w][j] * (x[j] - c[w][j]) + r * u[w][j];
  }
  double Loss(const std::vector<float>& x) const {
    double total = 0;
    for (int w = 0; w < kWorkers; ++w) {
      double ux = 0, f = 0;
      for (size_t j = 0; j < d; ++j) {
        f += 0.5 * h[w][j] * (x[j] - c[w][j]) * (x[j] - c[w][j]);
        ux += static_cast<double>(u[w][j]) * x[j];
      }
      total += f + 0.5 * (ux - v[w]) * (ux - v[w]);
    }
    return total / kWorkers;
  }
};

// Gradient descent where each worker's gradient goes through `spec` and the
// collective is the exact fp32 mean of the decoded messages. With feedback,
// each worker has its own ErrorFeedback (its per-peer state) and every one
// of them applies Aggregate to the same mean, as every peer would.
double Train(const Problem& p, const std::string& spec, bool feedback, float lr, int steps) {
  std::vector<std::unique_ptr<ErrorFeedback>> ef;
  std::unique_ptr<Codec> plain;
  if (feedback) {
    for (int w = 0; w < Problem::kWorkers; ++w) ef.push_back(ErrorFeedback::Create(spec).value());
  } else {
    plain = Codec::Create(spec).value();
  }
  const Codec& codec = feedback ? ef[0]->codec() : *plain;
  std::vector<float> x(p.d, 0.0f), g, mean(p.d), y(p.d);
  std::string payload;
  for (int t = 0; t < steps; ++t) {
    std::fill(mean.begin(), mean.end(), 0.0f);
    for (int w = 0; w < Problem::kWorkers; ++w) {
      p.Gradient(w, x, &g);
      CodecContext ctx{.seed = 1, .step = static_cast<uint64_t>(t), .tensor_id = 0,
                       .offset = 0, .peer_id = static_cast<uint64_t>(w)};
      payload.clear();
      if (feedback) {
        EXPECT_TRUE(ef[w]->Encode(g, p.d, ctx, &payload).ok());
      } else {
        EXPECT_TRUE(codec.Encode(g, ctx, &payload).ok());
      }
      EXPECT_TRUE(codec.DecodeAdd(payload, ctx, mean).ok());
    }
    for (float& m : mean) m /= Problem::kWorkers;
    if (feedback) {
      for (int w = 0; w < Problem::kWorkers; ++w) {
        y = mean;
        EXPECT_TRUE(ef[w]->Aggregate(y, p.d, CodecContext{}).ok());
        ef[w]->Commit(0);
      }
    } else {
      y = mean;
    }
    for (size_t j = 0; j < p.d; ++j) x[j] -= lr * y[j];
  }
  return p.Loss(x);
}

constexpr float kLr = 0.05f;
constexpr int kSteps = 3000;

// The acceptance test: top-k 1% with EF21 or EControl reaches the
// uncompressed loss; top-k alone stays measurably worse.
TEST(ErrorFeedbackTest, Ef21AndEControlReachUncompressedLossWhereTopKStalls) {
  Problem p(1000);
  const double ref = Train(p, "fp32", false, kLr, kSteps);
  const double topk = Train(p, "topk:density=0.01", false, kLr, kSteps);
  const double ef21 = Train(p, "ef21(topk:density=0.01)", true, kLr, kSteps);
  const double econtrol = Train(p, "econtrol(topk:density=0.01)", true, kLr, kSteps);
  EXPECT_NEAR(ef21, ref, 1e-5 * ref);
  EXPECT_NEAR(econtrol, ref, 1e-5 * ref);
  EXPECT_GT(topk, 1.1 * ref);
}

// Why eta=auto is density/2: at top-k 1% EControl converges for eta up to
// about the density and diverges at 5x it.
TEST(ErrorFeedbackTest, EControlNeedsEtaOfTheOrderOfTheDensity) {
  Problem p(1000);
  const double ref = Train(p, "fp32", false, kLr, kSteps);
  EXPECT_NEAR(Train(p, "econtrol:eta=0.01(topk:density=0.01)", true, kLr, kSteps), ref,
              1e-5 * ref);
  const double big = Train(p, "econtrol:eta=0.05(topk:density=0.01)", true, kLr, kSteps);
  EXPECT_FALSE(big < 2 * ref) << big;  // diverged (or NaN)
  EXPECT_FLOAT_EQ(ErrorFeedback::Create("econtrol(topk:density=0.01)").value()->eta(), 0.005f);
  EXPECT_FLOAT_EQ(ErrorFeedback::Create("econtrol(int8)").value()->eta(), 0.5f);
}

std::unique_ptr<ErrorFeedback> MustCreate(const std::string& spec) {
  Result<std::unique_ptr<ErrorFeedback>> ef = ErrorFeedback::Create(spec);
  EXPECT_TRUE(ef.ok()) << ef.status().ToString();
  return std::move(ef).value();
}

std::vector<float> StateOf(ErrorFeedback& ef, const std::string& name, uint64_t id, size_t n) {
  Result<std::vector<ErrorFeedback::StateBuffer>> state = ef.State(id, n);
  EXPECT_TRUE(state.ok());
  for (const auto& b : *state) {
    if (b.name == name) return {b.values.begin(), b.values.end()};
  }
  ADD_FAILURE() << "no state " << name;
  return {};
}

TEST(ErrorFeedbackTest, SpecsAndStateLayout) {
  auto ef21 = MustCreate("ef21(topk:density=0.1)");
  EXPECT_EQ(ef21->spec(), "ef21(topk:density=0.1,select=exact|rice:k=auto)");
  EXPECT_EQ(ef21->kind(), ErrorFeedback::Kind::kEf21);
  auto st = ef21->State(7, 100).value();
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0].name, "g");
  EXPECT_TRUE(st[0].replicated);
  EXPECT_EQ(st[1].name, "g_i");
  EXPECT_FALSE(st[1].replicated);
  auto ec = MustCreate("econtrol:eta=0.2(int8)");
  EXPECT_EQ(ec->spec(), "econtrol:eta=0.2(int8:block=256,rounding=nearest)");
  auto names = ec->State(1, 10).value();
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0].name, "h");
  EXPECT_TRUE(names[0].replicated);
  EXPECT_EQ(MustCreate("ef(sign)")->State(1, 10).value().size(), 1u);
  EXPECT_EQ(ef21->TensorIds(), std::vector<uint64_t>{7});
  EXPECT_TRUE(ErrorFeedback::IsFeedbackSpec("ef21(int8)"));
  EXPECT_FALSE(ErrorFeedback::IsFeedbackSpec("int8"));
  for (const char* bad : {"int8", "ef21", "ef22(int8)", "ef21(nosuch)", "ef:eta=1(int8)",
                          "econtrol:eta=-1(int8)", "econtrol:eta=x(int8)"}) {
    Result<std::unique_ptr<ErrorFeedback>> r = ErrorFeedback::Create(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
}

TEST(ErrorFeedbackTest, ClassicResidualIsWhatTheCodecDropped) {
  auto ef = MustCreate("ef(topk:density=0.25)");
  std::vector<float> x = {1, -8, 3, 0.5f, -2, 7, 0.1f, 4};
  std::string payload;
  ASSERT_TRUE(ef->Encode(x, 8, {}, &payload).ok());
  ef->Commit(0);
  std::vector<float> want = {1, 0, 3, 0.5f, -2, 0, 0.1f, 4};  // kept: -8 and 7
  EXPECT_EQ(StateOf(*ef, "e", 0, 8), want);
}

TEST(ErrorFeedbackTest, StateChangesOnlyOnCommit) {
  auto ef = MustCreate("ef21(topk:density=0.1)");
  std::vector<float> x = Gaussian(1000, 5);
  std::string p1, p2, p3;
  ASSERT_TRUE(ef->Encode(x, 1000, {}, &p1).ok());
  ef->Abort(0);
  EXPECT_EQ(StateOf(*ef, "g_i", 0, 1000), std::vector<float>(1000, 0.0f));
  // A retry without Abort encodes from the same committed state: the error
  // is never counted twice.
  ASSERT_TRUE(ef->Encode(x, 1000, {}, &p2).ok());
  ASSERT_TRUE(ef->Encode(x, 1000, {}, &p3).ok());
  EXPECT_EQ(p1, p2);
  EXPECT_EQ(p2, p3);
  ef->Commit(0);
  std::vector<float> gi = StateOf(*ef, "g_i", 0, 1000);
  std::vector<float> decoded(1000);
  ASSERT_TRUE(ef->codec().Decode(p3, {}, decoded).ok());
  EXPECT_EQ(gi, decoded);
  // Aggregate is pending too.
  std::vector<float> mean = decoded;
  ASSERT_TRUE(ef->Aggregate(mean, 1000, {}).ok());
  EXPECT_EQ(StateOf(*ef, "g", 0, 1000), std::vector<float>(1000, 0.0f));
  ef->Commit(0);
  EXPECT_EQ(StateOf(*ef, "g", 0, 1000), decoded);
}

TEST(ErrorFeedbackTest, ChunkedEncodeEqualsWholeForBlockAlignedChunks) {
  std::vector<float> x = Gaussian(1024, 6);
  auto whole = MustCreate("econtrol:eta=0.3(int8:block=64)");
  auto chunked = MustCreate("econtrol:eta=0.3(int8:block=64)");
  for (int step = 0; step < 3; ++step) {
    std::string p;
    ASSERT_TRUE(whole->Encode(x, 1024, {}, &p).ok());
    for (uint64_t off : {0, 256, 512, 768}) {
      std::string q;
      CodecContext ctx{.offset = off};
      ASSERT_TRUE(chunked->Encode(std::span<const float>(x).subspan(off, 256), 1024, ctx, &q).ok());
    }
    whole->Commit(0);
    chunked->Commit(0);
  }
  EXPECT_NE(StateOf(*whole, "e", 0, 1024), std::vector<float>(1024, 0.0f));
  EXPECT_EQ(StateOf(*whole, "e", 0, 1024), StateOf(*chunked, "e", 0, 1024));
  EXPECT_EQ(StateOf(*whole, "h_i", 0, 1024), StateOf(*chunked, "h_i", 0, 1024));
}

TEST(ErrorFeedbackTest, ReplicatedStateIsIdenticalAcrossPeers) {
  auto a = MustCreate("ef21(topk:density=0.05)");
  auto b = MustCreate("ef21(topk:density=0.05)");
  std::vector<float> xa = Gaussian(500, 1), xb = Gaussian(500, 2), mean(500);
  std::string pa, pb;
  ASSERT_TRUE(a->Encode(xa, 500, {}, &pa).ok());
  ASSERT_TRUE(b->Encode(xb, 500, {}, &pb).ok());
  ASSERT_TRUE(a->codec().DecodeAdd(pa, {}, mean).ok());
  ASSERT_TRUE(a->codec().DecodeAdd(pb, {}, mean).ok());
  for (float& m : mean) m /= 2;
  std::vector<float> ma = mean, mb = mean;
  ASSERT_TRUE(a->Aggregate(ma, 500, {}).ok());
  ASSERT_TRUE(b->Aggregate(mb, 500, {}).ok());
  a->Commit(0);
  b->Commit(0);
  EXPECT_EQ(StateOf(*a, "g", 0, 500), StateOf(*b, "g", 0, 500));
  EXPECT_NE(StateOf(*a, "g_i", 0, 500), StateOf(*b, "g_i", 0, 500));
}

TEST(ErrorFeedbackTest, BadRangesAndSizesAreInvalidArgument) {
  auto ef = MustCreate("ef21(int8)");
  std::vector<float> x(100, 1.0f);
  std::string p;
  EXPECT_EQ(ef->Encode(x, 50, {}, &p).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ef->Encode(x, 150, CodecContext{.offset = 60}, &p).code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(ef->Encode(x, 100, {}, &p).ok());
  EXPECT_EQ(ef->Encode(x, 200, {}, &p).code(), StatusCode::kInvalidArgument);  // numel changed
  EXPECT_EQ(ef->State(0, 99).status().code(), StatusCode::kInvalidArgument);
  std::vector<uint8_t> small(3);
  EXPECT_EQ(ef->Encode(x, 100, {}, std::span<uint8_t>(small)).status().code(),
            StatusCode::kInvalidArgument);
  ef->Reset(0);
  EXPECT_TRUE(ef->Encode(x, 200, CodecContext{.offset = 100}, &p).ok());
}

}  // namespace
}  // namespace tern
