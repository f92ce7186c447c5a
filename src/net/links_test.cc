#include "net/links.h"

#include <gtest/gtest.h>

#include <thread>

#include "net/blocking.h"

namespace tern::net {
namespace {

// Three peers (ids 1..3) over loopback: the lower id dials the higher.
TEST(LinksTest, ThreePeersBuildAFullMeshWithStreams) {
  constexpr int kPeers = 3, kStreams = 2;
  std::vector<std::unique_ptr<Listener>> listeners;
  for (int i = 0; i < kPeers; ++i) {
    auto l = Listener::Bind("127.0.0.1:0");
    ASSERT_TRUE(l.ok());
    listeners.push_back(std::move(*l));
  }
  std::vector<Result<std::vector<PeerLink>>> results;
  for (int i = 0; i < kPeers; ++i) results.emplace_back(InternalError("unset"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kPeers; ++i) {
    threads.emplace_back([&, i] {
      LinkSetSpec spec;
      spec.params.run_id = 9;
      spec.params.revision = 1;
      spec.params.self_peer = static_cast<uint64_t>(i + 1);
      spec.params.stream_count = kStreams;
      for (int j = 0; j < kPeers; ++j) {
        if (j > i) spec.dial.push_back({static_cast<uint64_t>(j + 1), listeners[j]->address()});
        if (j < i) spec.accept_from.push_back(static_cast<uint64_t>(j + 1));
      }
      results[i] = EstablishLinks(*listeners[i], spec, Deadline::AfterMillis(10000));
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kPeers; ++i) {
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].status().ToString();
    ASSERT_EQ(results[i]->size(), 2u);
    for (const PeerLink& l : *results[i]) {
      EXPECT_NE(l.control, nullptr);
      EXPECT_EQ(l.data.size(), static_cast<size_t>(kStreams));
    }
  }
  // Stream 2 of the link 1 -> 3 reaches peer 3's stream 2 of its link from 1.
  PeerLink& from1 = (*results[0])[1];
  ASSERT_EQ(from1.peer_id, 3u);
  PeerLink& at3 = (*results[2])[0];
  ASSERT_EQ(at3.peer_id, 1u);
  const Deadline d = Deadline::AfterMillis(2000);
  ASSERT_TRUE(SendFrame(*from1.data[1], 300, "stream two", d).ok());
  auto f = RecvFrame(*at3.data[1], 100, d);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->payload, "stream two");
}

TEST(LinksTest, MissingPeerIsDeadlineExceededNamingIt) {
  auto l = Listener::Bind("127.0.0.1:0");
  ASSERT_TRUE(l.ok());
  LinkSetSpec spec;
  spec.params.self_peer = 2;
  spec.accept_from = {1};
  auto r = EstablishLinks(**l, spec, Deadline::AfterMillis(200));
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(std::string(r.status().message()).find("missing peers: 1"), std::string::npos);
}

// A dialed peer that never answers and one that never dials: `abandon`
// ends the wait long before the deadline, with its status.
TEST(LinksTest, AbandonEndsTheWaitWithItsStatus) {
  auto l = Listener::Bind("127.0.0.1:0");
  ASSERT_TRUE(l.ok());
  auto dead = Listener::Bind("127.0.0.1:0");
  ASSERT_TRUE(dead.ok());
  const std::string dead_address = (*dead)->address();
  dead->reset();  // nothing listens there any more: refused, retried
  LinkSetSpec spec;
  spec.params.self_peer = 2;
  spec.dial = {{3, dead_address}};
  spec.accept_from = {1};
  const int64_t t0 = NowNanos();
  spec.abandon = [t0] {
    return NowNanos() - t0 > 100'000'000 ? AbortedError("newer revision") : OkStatus();
  };
  auto r = EstablishLinks(**l, spec, Deadline::AfterMillis(20000));
  EXPECT_EQ(r.status().code(), StatusCode::kAborted);
  EXPECT_LT(NowNanos() - t0, int64_t{5'000'000'000});
}

}  // namespace
}  // namespace tern::net
