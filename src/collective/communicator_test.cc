#include "tern/communicator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <mutex>
#include <numeric>

#include "collective/testing/thread_ranks.h"
#include "util/hash.h"

namespace tern {
namespace {

using std::chrono::milliseconds;

#define ASSERT_OK(expr)                              \
  do {                                               \
    const ::tern::Status s_ = (expr);                \
    ASSERT_TRUE(s_.ok()) << #expr << ": " << s_.ToString(); \
  } while (0)
using testing::RunThreadRanks;

// Small integers: sums are exact in any order, so results compare exactly.
std::vector<float> Input(int rank, size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>((static_cast<int>(i) * 7 + rank * 13) % 31 - 15);
  return v;
}

struct Case {
  int ranks;
  size_t numel;
  Algorithm algorithm;
};

class AllReduceTest : public ::testing::TestWithParam<Case> {};

TEST_P(AllReduceTest, SumMatchesScalarReferenceOnEveryRank) {
  const Case c = GetParam();
  std::vector<float> expect(c.numel, 0.f);
  for (int r = 0; r < c.ranks; ++r) {
    std::vector<float> in = Input(r, c.numel);
    for (size_t i = 0; i < c.numel; ++i) expect[i] += in[i];
  }
  CommunicatorOptions opts;
  opts.chunk_bytes = 4096;  // many chunks even for small buffers
  RunThreadRanks(c.ranks, [&](int r, Communicator& comm, StaticWorld&) {
    std::vector<float> buf = Input(r, c.numel);
    OpStats stats;
    Status s = comm.AllReduce(TensorView::Of(buf), {.algorithm = c.algorithm, .stats = &stats});
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(buf, expect);
    if (c.ranks > 1 && c.numel > 0) EXPECT_GT(stats.bytes_sent, 0u);
  }, opts);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, AllReduceTest,
    ::testing::Values(Case{1, 100, Algorithm::kAuto}, Case{2, 0, Algorithm::kRing},
                      Case{2, 1, Algorithm::kRing}, Case{2, 10000, Algorithm::kRing},
                      Case{3, 1023, Algorithm::kRing}, Case{3, 5000, Algorithm::kRecursiveDoubling},
                      Case{4, 3, Algorithm::kRing}, Case{5, 20000, Algorithm::kRecursiveDoubling},
                      Case{2, 1, Algorithm::kRecursiveDoubling},
                      Case{2, 10000, Algorithm::kHalvingDoubling},
                      Case{3, 5000, Algorithm::kHalvingDoubling},
                      Case{4, 3, Algorithm::kHalvingDoubling},
                      Case{4, 10001, Algorithm::kHalvingDoubling},
                      Case{6, 20000, Algorithm::kHalvingDoubling},
                      // Above the receive thread's threshold: Place runs
                      // beside Received.
                      Case{4, 600000, Algorithm::kHalvingDoubling}));

TEST(CommunicatorTest, ByteCountersBalanceAcrossRanksAndAccumulate) {
  std::mutex mu;
  uint64_t sent = 0, received = 0;
  RunThreadRanks(3, [&](int r, Communicator& comm, StaticWorld&) {
    std::vector<float> buf(100000, static_cast<float>(r));
    OpStats a, b;
    ASSERT_OK(comm.AllReduce(TensorView::Of(buf), {.stats = &a}));
    ASSERT_OK(comm.AllReduce(TensorView::Of(buf), {.stats = &b}));
    // A ring moves 2(n-1)/n of the buffer each way, plus frame headers.
    EXPECT_GE(a.bytes_sent, 400000u * 4 / 3);
    EXPECT_LT(a.bytes_sent, 400000u * 4 / 3 + 4096);
    EXPECT_EQ(a.algorithm, Algorithm::kRing);
    EXPECT_EQ(comm.TotalStats().bytes_sent, a.bytes_sent + b.bytes_sent);
    std::lock_guard<std::mutex> lock(mu);
    sent += a.bytes_sent;
    received += a.bytes_received;
  });
  EXPECT_EQ(sent, received);
}

TEST(CommunicatorTest, AvgMinMaxOnHalfTypes) {
  RunThreadRanks(3, [&](int r, Communicator& comm, StaticWorld&) {
    for (DType dt : {DType::kF16, DType::kBF16}) {
      for (ReduceOp op : {ReduceOp::kAvg, ReduceOp::kMin, ReduceOp::kMax}) {
        std::vector<uint16_t> buf(3000);
        for (size_t i = 0; i < buf.size(); ++i) {
          const float v = static_cast<float>(r * 3 + static_cast<int>(i % 5));
          buf[i] = dt == DType::kF16 ? FloatToHalf(v) : FloatToBF16(v);
        }
        TensorView view(buf.data(), dt, Shape::Flat(3000));
        Status s = comm.AllReduce(view, {.op = op});
        ASSERT_TRUE(s.ok()) << s.ToString();
        for (size_t i = 0; i < buf.size(); ++i) {
          const float got = dt == DType::kF16 ? HalfToFloat(buf[i]) : BF16ToFloat(buf[i]);
          const float base = static_cast<float>(i % 5);
          const float want = op == ReduceOp::kAvg ? base + 3.f : op == ReduceOp::kMin ? base : base + 6.f;
          ASSERT_EQ(got, want) << "i=" << i;
        }
      }
    }
  });
}

TEST(CommunicatorTest, ReduceScatterAllGatherBroadcastBarrier) {
  constexpr int kRanks = 3;
  constexpr size_t kN = 1001;
  RunThreadRanks(kRanks, [&](int r, Communicator& comm, StaticWorld&) {
    std::vector<float> in(kN, static_cast<float>(r + 1));
    const Segment seg = SegmentOf(kN, kRanks, r);
    std::vector<float> out(seg.count);
    ASSERT_OK(comm.ReduceScatter(TensorView::Of(in), TensorView::Of(out), {}));
    for (float v : out) ASSERT_EQ(v, 6.f);

    std::vector<float> mine(7, static_cast<float>(r)), all(7 * kRanks);
    ASSERT_OK(comm.AllGather(TensorView::Of(mine), TensorView::Of(all), {}));
    for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], static_cast<float>(i / 7));

    std::vector<std::string> blobs;
    ASSERT_OK(comm.AllGatherBytes(std::string(static_cast<size_t>(r * 5), 'a' + r), &blobs, {}));
    ASSERT_EQ(blobs.size(), static_cast<size_t>(kRanks));
    for (int q = 0; q < kRanks; ++q) EXPECT_EQ(blobs[q], std::string(static_cast<size_t>(q * 5), 'a' + q));

    for (Algorithm a : {Algorithm::kDirect, Algorithm::kRing}) {
      std::vector<float> b(100000, r == 1 ? 42.f : 0.f);
      ASSERT_OK(comm.Broadcast(TensorView::Of(b), 1, {.algorithm = a}));
      for (float v : b) ASSERT_EQ(v, 42.f);
    }
    std::string text = r == 2 ? "state from rank 2" : "";
    ASSERT_OK(comm.BroadcastBytes(&text, 2, {}));
    EXPECT_EQ(text, "state from rank 2");
    ASSERT_OK(comm.Barrier({}));
  });
}

TEST(CommunicatorTest, SendRecvExchangesBetweenPairs) {
  RunThreadRanks(4, [&](int r, Communicator& comm, StaticWorld&) {
    const int partner = r ^ 1;
    std::vector<float> mine(50000, static_cast<float>(r)), theirs(50000);
    ASSERT_OK(comm.SendRecv(partner, TensorView::Of(mine), TensorView::Of(theirs), {}));
    for (float v : theirs) ASSERT_EQ(v, static_cast<float>(partner));
    if (r == 0) {
      ASSERT_OK(comm.Send(1, TensorView::Of(mine), {}));
    } else if (r == 1) {
      ASSERT_OK(comm.Recv(0, TensorView::Of(theirs), {}));
      for (float v : theirs) ASSERT_EQ(v, 0.f);
    }
  });
}

TEST(CommunicatorTest, AsyncOperationsCompleteInOrder) {
  RunThreadRanks(2, [&](int r, Communicator& comm, StaticWorld&) {
    std::vector<std::vector<float>> bufs(4, std::vector<float>(30000, static_cast<float>(r + 1)));
    std::vector<std::unique_ptr<Work>> work;
    for (auto& b : bufs) work.push_back(comm.AllReduceAsync(TensorView::Of(b), {}));
    std::vector<float> sync(10, 1.f);
    ASSERT_OK(comm.AllReduce(TensorView::Of(sync), {}));  // queued after the async ones
    for (auto& w : work) {
      ASSERT_TRUE(w->Wait().ok());
      EXPECT_TRUE(w->Test());
      EXPECT_GT(w->stats().bytes_sent, 0u);
    }
    for (auto& b : bufs)
      for (float v : b) ASSERT_EQ(v, 3.f);
    EXPECT_EQ(sync[0], 2.f);
  });
}

TEST(CommunicatorTest, MismatchedCallsAreInvalidArgumentAndLeaveBuffers) {
  RunThreadRanks(2, [&](int r, Communicator& comm, StaticWorld&) {
    std::vector<float> buf(1000, static_cast<float>(r + 1));
    const std::vector<float> before = buf;
    // Rank 0 sums, rank 1 takes the max: detected, both fail.
    Status s = comm.AllReduce(TensorView::Of(buf), {.op = r == 0 ? ReduceOp::kSum : ReduceOp::kMax,
                                                    .timeout = milliseconds(5000)});
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
    EXPECT_EQ(buf, before);
    // The next call reconnects and works.
    ASSERT_OK(comm.AllReduce(TensorView::Of(buf), {}));
    EXPECT_EQ(buf[0], 3.f);
  });
}

TEST(CommunicatorTest, MissingRankIsDeadlineExceededWithinTwiceTheTimeout) {
  RunThreadRanks(3, [&](int r, Communicator& comm, StaticWorld&) {
    std::vector<float> buf(100000, 1.f);
    ASSERT_OK(comm.AllReduce(TensorView::Of(buf), {}));  // links up
    if (r == 2) {
      std::this_thread::sleep_for(milliseconds(1500));
      return;  // never joins the second all-reduce
    }
    std::fill(buf.begin(), buf.end(), 5.f);
    const auto t0 = std::chrono::steady_clock::now();
    Status s = comm.AllReduce(TensorView::Of(buf), {.timeout = milliseconds(400)});
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded) << s.ToString();
    EXPECT_LT(took, milliseconds(800));
    for (float v : buf) ASSERT_EQ(v, 5.f);
  });
}

TEST(CommunicatorTest, AnnouncedRevisionAbortsAndUpdateTopologyRecovers) {
  RunThreadRanks(2, [&](int r, Communicator& comm, StaticWorld& world) {
    std::vector<float> buf(1000, 1.f);
    ASSERT_OK(comm.AllReduce(TensorView::Of(buf), {}));
    ASSERT_OK(comm.Barrier({}));
    world.AnnounceRevision(2);
    Status s = comm.AllReduce(TensorView::Of(buf), {});
    EXPECT_EQ(s.code(), StatusCode::kAborted) << s.ToString();
    EXPECT_EQ(buf[0], 2.f);
    ASSERT_OK(world.UpdateTopology(milliseconds(100)));
    ASSERT_OK(comm.Connect(milliseconds(10000)));
    EXPECT_EQ(comm.revision(), 2u);
    ASSERT_OK(comm.AllReduce(TensorView::Of(buf), {}));
    EXPECT_EQ(buf[0], 4.f);
    (void)r;
  });
}

}  // namespace
}  // namespace tern
