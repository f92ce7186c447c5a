// Real processes that die or hang mid all-reduce: every survivor must fail
// with the right code, within twice its timeout, with its buffer exactly as
// before the call (DESIGN.md semantic 2).
#include <signal.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "spawn_ranks.h"

namespace tern {
namespace {

using std::chrono::milliseconds;
using testing::MonotonicNanos;

struct Survivor {
  int code = -1;
  int restored = 0;
  long long returned_ns = 0;
  int iterations = 0;
};

// Loops all-reduces of 16 MiB until one fails; reports how it failed.
Result<std::string> LoopUntilFailure(Communicator& comm, int rank, milliseconds timeout) {
  std::vector<float> buf(4 << 20);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<float>((i + rank) % 17);
  const int64_t give_up = MonotonicNanos() + 30'000'000'000;
  for (int it = 0; MonotonicNanos() < give_up; ++it) {
    const std::vector<float> before = buf;
    Status s = comm.AllReduce(TensorView::Of(buf), {.op = ReduceOp::kAvg, .timeout = timeout});
    if (!s.ok()) {
      char out[256];
      std::snprintf(out, sizeof(out), "%d %d %lld %d %s", static_cast<int>(s.code()),
                    buf == before ? 1 : 0, static_cast<long long>(MonotonicNanos()), it,
                    s.ToString().c_str());
      return std::string(out);
    }
  }
  return InternalError("no failure within 30 s");
}

Survivor Parse(const std::string& s) {
  Survivor v;
  std::sscanf(s.c_str(), "%d %d %lld %d", &v.code, &v.restored, &v.returned_ns, &v.iterations);
  return v;
}

// Runs 4 ranks; the parent sends `sig` to rank 3 after `after`, then
// (for SIGSTOP) kills it once the survivors had time to give up.
void RunVictimScenario(int sig, milliseconds timeout, StatusCode want) {
  constexpr int kRanks = 4, kVictim = 3;
  std::atomic<int64_t> signalled_ns{0};
  testing::SpawnOptions o;
  o.parent = [&](const std::vector<pid_t>& pids) {
    std::this_thread::sleep_for(milliseconds(1500));  // connected, several rounds done
    signalled_ns = MonotonicNanos();
    ::kill(pids[kVictim], sig);
    if (sig == SIGSTOP) {
      std::this_thread::sleep_for(4 * timeout);
      ::kill(pids[kVictim], SIGKILL);
    }
  };
  auto out = testing::SpawnRanks(
      kRanks,
      [&](int r, Communicator& comm, StaticWorld&) -> Result<std::string> {
        if (r == kVictim) {
          std::vector<float> buf(4 << 20, 1.f);
          for (;;) comm.AllReduce(TensorView::Of(buf), {.op = ReduceOp::kAvg, .timeout = timeout}).IgnoreError();
        }
        return LoopUntilFailure(comm, r, timeout);
      },
      o);
  ASSERT_EQ(out.size(), static_cast<size_t>(kRanks));
  EXPECT_EQ(out[kVictim].signal, SIGKILL);
  for (int r = 0; r < kRanks; ++r) {
    if (r == kVictim) continue;
    ASSERT_EQ(out[r].exit_code, 0) << "rank " << r << ": " << out[r].output;
    const Survivor s = Parse(out[r].output);
    EXPECT_EQ(s.code, static_cast<int>(want)) << "rank " << r << ": " << out[r].output;
    EXPECT_EQ(s.restored, 1) << "rank " << r << " buffer changed by the failed call";
    EXPECT_GT(s.iterations, 0) << "rank " << r << " never completed an all-reduce";
    const double late_s = static_cast<double>(s.returned_ns - signalled_ns.load()) * 1e-9;
    std::printf("rank %d failed %.3f s after the signal: %s\n", r, late_s, out[r].output.c_str());
    EXPECT_LT(late_s, 2.0 * static_cast<double>(timeout.count()) * 1e-3)
        << "rank " << r << " noticed the failure " << late_s << " s after the signal";
  }
}

TEST(FaultTest, SigkilledRankMakesEverySurvivorUnavailableQuicklyWithBuffersRestored) {
  RunVictimScenario(SIGKILL, milliseconds(3000), StatusCode::kUnavailable);
}

TEST(FaultTest, StoppedRankMakesEverySurvivorMissTheDeadlineWithinTwiceTheTimeout) {
  RunVictimScenario(SIGSTOP, milliseconds(1000), StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace tern
