// Halving-doubling all-reduce: its reduction order (documented in
// algorithms.h), bit parity on inexact inputs, and atomicity.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <latch>
#include <thread>
#include <vector>

#include "collective/testing/thread_ranks.h"
#include "tern/communicator.h"
#include "util/philox.h"

namespace tern {
namespace {

using std::chrono::milliseconds;
using testing::RunThreadRanks;

std::vector<float> Random(int rank, size_t n) {
  RngStream rng(17, RngPurpose::kTest, static_cast<uint64_t>(rank));
  std::vector<float> v(n);
  for (float& x : v) x = rng.UniformFloat() * 2.f - 1.f;
  return v;
}

// On 4 ranks every block is reduced as (x0 + x2) + (x1 + x3): step 0 pairs
// ranks 2 apart, step 1 neighbours, the lower rank's operand first. The
// random inputs make any other order (or a rank computing its own) visible.
TEST(HalvingDoublingTest, FourRanksSumInTreeOrderBitIdenticalEverywhere) {
  constexpr size_t kN = 300001;  // odd: uneven halves
  std::vector<std::vector<float>> x;
  for (int r = 0; r < 4; ++r) x.push_back(Random(r, kN));
  std::vector<float> sum(kN), avg(kN);
  for (size_t i = 0; i < kN; ++i) {
    sum[i] = (x[0][i] + x[2][i]) + (x[1][i] + x[3][i]);
    avg[i] = sum[i] / 4.f;
  }
  CommunicatorOptions opts;
  opts.chunk_bytes = 16 << 10;  // several frames per step
  RunThreadRanks(
      4,
      [&](int r, Communicator& comm, StaticWorld&) {
        std::vector<float> buf = x[static_cast<size_t>(r)];
        OpStats stats;
        ASSERT_TRUE(comm.AllReduce(TensorView::Of(buf),
                                   {.algorithm = Algorithm::kHalvingDoubling,
                                    .stats = &stats})
                        .ok());
        EXPECT_EQ(stats.algorithm, Algorithm::kHalvingDoubling);
        EXPECT_EQ(0, std::memcmp(buf.data(), sum.data(), kN * sizeof(float)));
        buf = x[static_cast<size_t>(r)];
        ASSERT_TRUE(comm.AllReduce(TensorView::Of(buf),
                                   {.op = ReduceOp::kAvg,
                                    .algorithm = Algorithm::kHalvingDoubling})
                        .ok());
        EXPECT_EQ(0, std::memcmp(buf.data(), avg.data(), kN * sizeof(float)));
      },
      opts);
}

// Ranks beyond the largest power of two fold in first: on 3 ranks
// (x0 + x2) + x1.
TEST(HalvingDoublingTest, ExtraRankFoldsIntoItsPartnerFirst) {
  constexpr size_t kN = 70000;
  std::vector<std::vector<float>> x;
  for (int r = 0; r < 3; ++r) x.push_back(Random(r, kN));
  std::vector<float> want(kN);
  for (size_t i = 0; i < kN; ++i) want[i] = (x[0][i] + x[2][i]) + x[1][i];
  RunThreadRanks(3, [&](int r, Communicator& comm, StaticWorld&) {
    std::vector<float> buf = x[static_cast<size_t>(r)];
    ASSERT_TRUE(comm.AllReduce(TensorView::Of(buf),
                               {.algorithm = Algorithm::kHalvingDoubling})
                    .ok());
    EXPECT_EQ(0, std::memcmp(buf.data(), want.data(), kN * sizeof(float)));
  });
}

// Rank 3 skips the second all-reduce and stays connected until the others
// returned (so they see a deadline, not a closed connection). The API
// promises a return within twice the timeout; the check allows five times,
// for scheduling on a loaded 2-core machine.
TEST(HalvingDoublingTest, MissingRankIsDeadlineExceededAndLeavesTheBuffer) {
  std::latch others_done(3);
  RunThreadRanks(4, [&](int r, Communicator& comm, StaticWorld&) {
    std::vector<float> buf(50000, 1.f);
    const bool first =
        comm.AllReduce(TensorView::Of(buf),
                       {.algorithm = Algorithm::kHalvingDoubling})
            .ok();
    if (r == 3) {
      others_done.wait();  // never joins the second all-reduce
      ASSERT_TRUE(first);
      return;
    }
    struct Done {
      std::latch& l;
      ~Done() { l.count_down(); }
    } done{others_done};
    ASSERT_TRUE(first);
    std::fill(buf.begin(), buf.end(), 5.f);
    const auto t0 = std::chrono::steady_clock::now();
    Status s = comm.AllReduce(TensorView::Of(buf),
                              {.timeout = milliseconds(400),
                               .algorithm = Algorithm::kHalvingDoubling});
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded) << s.ToString();
    EXPECT_LT(took, milliseconds(5 * 400));
    for (float v : buf) ASSERT_EQ(v, 5.f);
  });
}

}  // namespace
}  // namespace tern
