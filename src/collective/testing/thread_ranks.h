// Test helper: n ranks as threads of this process, each with its own
// StaticWorld (LocalRendezvous, loopback, port 0) and Communicator.
#ifndef TERN_COLLECTIVE_TESTING_THREAD_RANKS_H_
#define TERN_COLLECTIVE_TESTING_THREAD_RANKS_H_

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "tern/communicator.h"
#include "tern/world.h"

namespace tern::testing {

using RankFn = std::function<void(int rank, Communicator& comm, StaticWorld& world)>;

inline void RunThreadRanks(int n, const RankFn& fn, CommunicatorOptions options = {}) {
  LocalRendezvous rdv(n, /*run_id=*/1234);
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      auto world = rdv.Join(r, std::chrono::seconds(20));
      ASSERT_TRUE(world.ok()) << world.status().ToString();
      auto comm = Communicator::Create(world->get(), options);
      ASSERT_TRUE(comm.ok()) << comm.status().ToString();
      fn(r, **comm, **world);
    });
  }
  for (auto& t : threads) t.join();
}

}  // namespace tern::testing

#endif  // TERN_COLLECTIVE_TESTING_THREAD_RANKS_H_
