// A run with TLS 1.3 on every link: control, shared-state transfers and
// the data plane's collectives.
#include <gtest/gtest.h>

#include <latch>
#include <thread>

#include "tern/communicator.h"
#include "tern/master.h"
#include "tern/shared_state.h"
#include "tests/leave_together.h"

namespace tern {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kTimeout{15000};

TEST(TlsRunTest, CollectivesAndStateSyncOverTls) {
  MasterOptions mo;
  mo.secret = "tls-run-test-secret-0123456789";
  mo.tls = true;
  mo.min_peers = 3;
  mo.fresh_run = true;
  auto master = Master::Start(mo);
  ASSERT_TRUE(master.ok());
  constexpr int kPeers = 3;
  constexpr size_t kNumel = 1 << 20;
  std::vector<std::vector<float>> results(kPeers);
  std::vector<SyncReport> reports(kPeers);
  std::vector<std::thread> ts;
  std::latch done(kPeers);  // tests/leave_together.h
  for (int i = 0; i < kPeers; ++i) {
    ts.emplace_back([&, i] {
      testing::LeaveTogether leave(done);
      auto w = MasterWorld::Join((*master)->PeerOptions(), kTimeout);
      ASSERT_TRUE(w.ok()) << w.status().ToString();
      auto comm = Communicator::Create(w->get());
      ASSERT_TRUE(comm.ok());
      auto state = SharedState::Create(w->get());
      ASSERT_TRUE(state.ok());
      std::vector<float> params(kNumel, 1.0f);
      const int rank = (*w)->View().rank;
      if (rank == 2) params[5] = 9.0f;  // the odd one out gets repaired
      ASSERT_TRUE((*state)->RegisterTensor("params", TensorView::Of(params)).ok());
      auto r = (*state)->SyncSharedState(kTimeout);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      reports[rank] = *r;
      std::vector<float> g(kNumel);
      for (size_t k = 0; k < kNumel; ++k) g[k] = static_cast<float>(rank + 1) * 0.5f;
      Status s = (*comm)->AllReduce(TensorView::Of(g), {.timeout = kTimeout});
      ASSERT_TRUE(s.ok()) << s.ToString();
      results[rank] = std::move(g);
      EXPECT_EQ(params[5], 1.0f);
      leave.Together();
    });
  }
  for (auto& t : ts) t.join();
  for (int r = 0; r < kPeers; ++r) {
    ASSERT_EQ(results[r].size(), kNumel);
    EXPECT_EQ(results[r][0], 3.0f);
    EXPECT_EQ(results[r], results[0]);
  }
  EXPECT_EQ(reports[2].fixed, std::vector<std::string>{"params"});
  EXPECT_GE(reports[2].bytes_received, kNumel * 4);
}

}  // namespace
}  // namespace tern
