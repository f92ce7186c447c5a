// Compressed all-reduce and PowerSGD through the Communicator (threads over
// loopback): byte savings, bit parity, and codec state committed only on
// success.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <mutex>

#include "collective/testing/thread_ranks.h"
#include "tern/codec.h"
#include "tern/communicator.h"
#include "util/hash.h"
#include "util/philox.h"

namespace tern {
namespace {

using std::chrono::milliseconds;
using testing::RunThreadRanks;

std::vector<float> Random(int rank, size_t n) {
  RngStream rng(3, RngPurpose::kTest, static_cast<uint64_t>(rank));
  std::vector<float> v(n);
  for (float& x : v) x = rng.UniformFloat() - 0.5f;
  return v;
}

TEST(CompressedTest, Int8SendsAboutAQuarterOfTheBytesAndRanksAgreeBitForBit) {
  constexpr int kRanks = 3;
  constexpr size_t kN = 300000;
  std::mutex mu;
  std::vector<uint64_t> hashes;
  RunThreadRanks(kRanks, [&](int r, Communicator& comm, StaticWorld&) {
    auto codec = Codec::Create("int8:block=256");
    ASSERT_TRUE(codec.ok());
    std::vector<float> plain = Random(r, kN), coded = plain;
    OpStats ps, cs;
    ASSERT_TRUE(comm.AllReduce(TensorView::Of(plain), {.op = ReduceOp::kAvg, .stats = &ps}).ok());
    Status s = comm.AllReduce(TensorView::Of(coded), {.op = ReduceOp::kAvg, .codec = codec->get(),
                                                      .codec_context = {.seed = 1, .tensor_id = 2},
                                                      .stats = &cs});
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(cs.algorithm, Algorithm::kDirect);
    EXPECT_LT(cs.bytes_sent * 3, ps.bytes_sent) << cs.bytes_sent << " vs " << ps.bytes_sent;
    double err = 0;
    for (size_t i = 0; i < kN; ++i) err = std::max(err, std::fabs(double(coded[i]) - plain[i]));
    EXPECT_LT(err, 0.02);
    std::lock_guard<std::mutex> lock(mu);
    hashes.push_back(Xxh3(coded.data(), kN * sizeof(float)));
  });
  ASSERT_EQ(hashes.size(), static_cast<size_t>(kRanks));
  for (uint64_t h : hashes) EXPECT_EQ(h, hashes[0]);
}

TEST(CompressedTest, HalfPrecisionInputIsCodedAsFp32) {
  RunThreadRanks(2, [&](int r, Communicator& comm, StaticWorld&) {
    auto codec = Codec::Create("fp16");
    ASSERT_TRUE(codec.ok());
    std::vector<uint16_t> buf(1000, FloatToBF16(static_cast<float>(r + 1)));
    Status s = comm.AllReduce(TensorView(buf.data(), DType::kBF16, Shape::Flat(1000)),
                              {.op = ReduceOp::kSum, .codec = codec->get()});
    ASSERT_TRUE(s.ok()) << s.ToString();
    for (uint16_t v : buf) ASSERT_EQ(BF16ToFloat(v), 3.f);
  });
}

TEST(CompressedTest, MinMaxAndConflictingOptionsAreRefused) {
  RunThreadRanks(1, [&](int, Communicator& comm, StaticWorld&) {
    auto codec = Codec::Create("int8:block=256");
    auto ef = ErrorFeedback::Create("ef(int8:block=256)");
    ASSERT_TRUE(codec.ok() && ef.ok());
    std::vector<float> buf(10, 1.f);
    EXPECT_EQ(comm.AllReduce(TensorView::Of(buf), {.op = ReduceOp::kMax, .codec = codec->get()}).code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(comm.AllReduce(TensorView::Of(buf), {.codec = codec->get(), .feedback = ef->get()}).code(),
              StatusCode::kInvalidArgument);
  });
}

// The feedback state of a tensor, concatenated (for before/after checks).
std::vector<float> FeedbackState(ErrorFeedback& ef, uint64_t id, size_t n) {
  std::vector<float> all;
  auto state = ef.State(id, n);
  EXPECT_TRUE(state.ok());
  for (auto& b : *state) all.insert(all.end(), b.values.begin(), b.values.end());
  return all;
}

TEST(CompressedTest, ErrorFeedbackCommitsOnSuccessOnly) {
  constexpr size_t kN = 5000;
  RunThreadRanks(2, [&](int r, Communicator& comm, StaticWorld&) {
    auto ef = ErrorFeedback::Create("ef21(topk:density=0.1)");
    ASSERT_TRUE(ef.ok()) << ef.status().ToString();
    std::vector<float> buf = Random(r, kN);
    const AllReduceOptions o{.op = ReduceOp::kAvg, .timeout = milliseconds(400),
                             .feedback = ef->get(), .codec_context = {.seed = 9, .tensor_id = 4}};
    ASSERT_TRUE(comm.AllReduce(TensorView::Of(buf), o).ok());
    const std::vector<float> committed = FeedbackState(**ef, 4, kN);
    bool nonzero = false;
    for (float v : committed) nonzero |= v != 0.f;
    EXPECT_TRUE(nonzero) << "state was not committed";
    // Rank 1 skips the next all-reduce: rank 0 times out and must keep both
    // its buffer and its committed state.
    if (r == 1) {
      std::this_thread::sleep_for(milliseconds(900));
      return;
    }
    std::vector<float> again = Random(7, kN);
    const std::vector<float> before = again;
    EXPECT_EQ(comm.AllReduce(TensorView::Of(again), o).code(), StatusCode::kDeadlineExceeded);
    EXPECT_EQ(again, before);
    EXPECT_EQ(FeedbackState(**ef, 4, kN), committed);
  });
}

TEST(PowerSgdTest, RankOneTensorIsRecoveredAndRanksAgree) {
  constexpr int64_t kRows = 64, kCols = 48;
  std::mutex mu;
  std::vector<uint64_t> hashes;
  RunThreadRanks(3, [&](int r, Communicator& comm, StaticWorld&) {
    // Every rank holds (r+1) * u v^T: the average is 2 u v^T, exactly rank 1.
    std::vector<float> m(kRows * kCols);
    for (int64_t i = 0; i < kRows; ++i)
      for (int64_t j = 0; j < kCols; ++j)
        m[i * kCols + j] = static_cast<float>(r + 1) * (0.1f * (i % 7) + 0.3f) * (0.05f * (j % 5) - 0.1f);
    PowerSgd psgd({.rank = 2, .seed = 11});
    OpStats stats;
    ASSERT_TRUE(psgd.AllReduce(comm, 1, TensorView(m.data(), DType::kF32, Shape({kRows, kCols})),
                               {.stats = &stats}).ok());
    for (int64_t i = 0; i < kRows; ++i)
      for (int64_t j = 0; j < kCols; ++j) {
        const float want = 2.f * (0.1f * (i % 7) + 0.3f) * (0.05f * (j % 5) - 0.1f);
        ASSERT_NEAR(m[i * kCols + j], want, 1e-4) << i << "," << j;
      }
    // Low rank on the wire: (64 + 48) * 2 floats in two all-reduces, not
    // 64 * 48 (a ring moves 2(n-1)/n of each, plus frame headers).
    EXPECT_GT(stats.bytes_sent, 112u * 2 * 4);
    EXPECT_LT(stats.bytes_sent, 4000u);
    std::lock_guard<std::mutex> lock(mu);
    hashes.push_back(Xxh3(m.data(), m.size() * sizeof(float)));
  });
  for (uint64_t h : hashes) EXPECT_EQ(h, hashes[0]);
}

TEST(PowerSgdTest, ErrorFeedbackCarriesTheResidualToTheNextStep) {
  RunThreadRanks(2, [&](int, Communicator& comm, StaticWorld&) {
    // A full-rank tensor: rank-1 steps leave a residual; with error feedback
    // the sum of two steps' outputs approaches twice the input.
    std::vector<float> g(32 * 32);
    for (size_t i = 0; i < g.size(); ++i) g[i] = static_cast<float>((i * 37) % 11) - 5.f;
    PowerSgd psgd({.rank = 1, .seed = 3});
    std::vector<float> total(g.size(), 0.f);
    double first_err = 0, last_err = 0;
    for (int step = 0; step < 30; ++step) {
      std::vector<float> t = g;
      ASSERT_TRUE(psgd.AllReduce(comm, 5, TensorView(t.data(), DType::kF32, Shape({32, 32})), {}).ok());
      double err = 0;
      for (size_t i = 0; i < g.size(); ++i) {
        total[i] += t[i];
        err += std::fabs(total[i] - g[i] * (step + 1));
      }
      err /= (step + 1);
      if (step == 0) first_err = err;
      last_err = err;
    }
    EXPECT_LT(last_err, first_err * 0.5) << "error feedback did not reduce the average error";
  });
}

TEST(PowerSgdTest, OneDimensionalTensorsGoUncompressed) {
  RunThreadRanks(2, [&](int r, Communicator& comm, StaticWorld&) {
    std::vector<float> v(100, static_cast<float>(r));
    PowerSgd psgd({});
    ASSERT_TRUE(psgd.AllReduce(comm, 1, TensorView::Of(v), {}).ok());
    for (float x : v) ASSERT_EQ(x, 0.5f);
  });
}

}  // namespace
}  // namespace tern
