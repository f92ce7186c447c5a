// The engine and the algorithms over in-memory transports: tiny buffers
// force partial reads and writes everywhere, and faulty connections check
// that every rank fails with the right code and restores its buffer.
#include "collective/engine.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "collective/algorithms.h"
#include "net/fake.h"
#include "net/faulty.h"

namespace tern::collective {
namespace {

// Which connection gets which fault: (from rank, to rank, data stream).
using FaultMap = std::map<std::tuple<int, int, int>, net::FaultSpec>;

// A full mesh of fake links: control + `streams` data connections per pair.
struct FakeMesh {
  std::vector<std::unique_ptr<net::Conn>> owned;
  std::vector<std::vector<PeerConns>> conns;  // conns[rank][peer]

  FakeMesh(int n, int streams, size_t capacity, const FaultMap& faults = {}) {
    conns.assign(n, std::vector<PeerConns>(n));
    for (int r = 0; r < n; ++r)
      for (int p = 0; p < n; ++p) conns[r][p].peer_id = static_cast<uint64_t>(p + 1);
    for (int i = 0; i < n; ++i) {
      for (int j = i + 1; j < n; ++j) {
        for (int s = -1; s < streams; ++s) {
          auto [a, b] = net::FakeConnPair(capacity, "rank" + std::to_string(i), "rank" + std::to_string(j));
          if (auto f = faults.find({i, j, s}); f != faults.end()) a = net::WithFaults(std::move(a), f->second);
          if (auto f = faults.find({j, i, s}); f != faults.end()) b = net::WithFaults(std::move(b), f->second);
          Add(i, j, s, std::move(a));
          Add(j, i, s, std::move(b));
        }
      }
    }
  }
  void Add(int r, int peer, int stream, std::unique_ptr<net::Conn> c) {
    if (stream < 0) {
      conns[r][peer].control = c.get();
    } else {
      conns[r][peer].data.push_back(c.get());
    }
    owned.push_back(std::move(c));
  }
};

struct RankResult {
  Status status;
  std::vector<float> buf;
  double seconds = 0;
};

// Runs an in-place ring all-reduce (sum) on every rank of the mesh.
std::vector<RankResult> RingAllReduce(FakeMesh& mesh, size_t numel, int64_t deadline_ms,
                                      size_t chunk_bytes = 4096) {
  const int n = static_cast<int>(mesh.conns.size());
  std::vector<RankResult> out(n);
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      Engine e;
      e.Reset(r, mesh.conns[r], true);
      std::vector<float>& buf = out[r].buf;
      buf.resize(numel);
      for (size_t i = 0; i < numel; ++i) buf[i] = static_cast<float>(r * 100 + static_cast<int>(i % 50));
      std::vector<uint8_t> work(numel * 4), backup(numel * 4);
      const Plan plan = EvenPlan(numel, n, 4, chunk_bytes);
      const auto t0 = std::chrono::steady_clock::now();
      e.Begin(0, 1, chunk_bytes, Deadline::AfterMillis(deadline_ms), nullptr);
      RingArgs a{&plan, true, true, DType::kF32, ReduceOp::kSum,
                 reinterpret_cast<uint8_t*>(buf.data()), work.data(), backup.data()};
      out[r].status = RunRing(e, a);
      if (!out[r].status.ok()) e.AbortAll(out[r].status, 0);
      out[r].seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    });
  }
  for (auto& t : threads) t.join();
  return out;
}

bool Untouched(const RankResult& res, int r) {
  for (size_t i = 0; i < res.buf.size(); ++i)
    if (res.buf[i] != static_cast<float>(r * 100 + static_cast<int>(i % 50))) return false;
  return true;
}

TEST(EngineTest, RingIsCorrectWithTinyTransportBuffers) {
  for (int n : {2, 3, 5}) {
    FakeMesh mesh(n, 3, /*capacity=*/97);
    auto res = RingAllReduce(mesh, 10007, 20000);
    for (int r = 0; r < n; ++r) {
      ASSERT_TRUE(res[r].status.ok()) << res[r].status.ToString();
      for (size_t i = 0; i < res[r].buf.size(); ++i) {
        float want = 0;
        for (int q = 0; q < n; ++q) want += static_cast<float>(q * 100 + static_cast<int>(i % 50));
        ASSERT_EQ(res[r].buf[i], want) << "n " << n << " rank " << r << " i " << i;
      }
    }
  }
}

TEST(EngineTest, CorruptFrameIsDataLossOnEveryRankWithBuffersRestored) {
  net::FaultSpec f;
  f.corrupt_at_byte = 9000;  // inside the third frame of data stream 0
  FakeMesh mesh(3, 2, 1 << 16, {{{0, 1, 0}, f}});
  auto res = RingAllReduce(mesh, 30000, 10000);
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(res[r].status.code(), StatusCode::kDataLoss) << r << ": " << res[r].status.ToString();
    EXPECT_TRUE(Untouched(res[r], r)) << "rank " << r;
  }
}

TEST(EngineTest, ClosedConnectionIsUnavailableOnEveryRankWithBuffersRestored) {
  net::FaultSpec f;
  f.close_after_bytes = 20000;
  FakeMesh mesh(4, 2, 1 << 16, {{{2, 3, 1}, f}});
  auto res = RingAllReduce(mesh, 100000, 10000);
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(res[r].status.code(), StatusCode::kUnavailable) << r << ": " << res[r].status.ToString();
    EXPECT_TRUE(Untouched(res[r], r)) << "rank " << r;
  }
}

TEST(EngineTest, DroppedBytesAreDeadlineExceededWithinTwiceTheTimeout) {
  net::FaultSpec f;
  f.drop_after_bytes = 5000;
  FakeMesh mesh(3, 1, 1 << 16, {{{1, 2, 0}, f}});
  auto res = RingAllReduce(mesh, 50000, /*deadline_ms=*/300);
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(res[r].status.code(), StatusCode::kDeadlineExceeded) << r << ": " << res[r].status.ToString();
    EXPECT_LT(res[r].seconds, 0.6) << "rank " << r;
    EXPECT_TRUE(Untouched(res[r], r)) << "rank " << r;
  }
}

TEST(EngineTest, SlowLinkStillCompletes) {
  net::FaultSpec f;
  f.write_delay = std::chrono::milliseconds(1);
  FakeMesh mesh(3, 2, 1 << 12, {{{0, 1, 0}, f}});
  auto res = RingAllReduce(mesh, 20000, 20000);
  for (int r = 0; r < 3; ++r) {
    ASSERT_TRUE(res[r].status.ok()) << res[r].status.ToString();
    EXPECT_EQ(res[r].buf[7], 0.f + 7 + 107 + 207);
  }
}

TEST(EngineTest, FrameOfAnotherOperationIsInvalidArgument) {
  FakeMesh mesh(2, 1, 1 << 16);
  std::vector<Status> st(2);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      Engine e;
      e.Reset(r, mesh.conns[r], true);
      e.Begin(0, /*signature=*/r == 0 ? 11 : 12, 4096, Deadline::AfterMillis(5000), nullptr);
      st[r] = RunBarrier(e);
      if (!st[r].ok()) e.AbortAll(st[r], 0);
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < 2; ++r) EXPECT_EQ(st[r].code(), StatusCode::kInvalidArgument) << st[r].ToString();
}

}  // namespace
}  // namespace tern::collective
