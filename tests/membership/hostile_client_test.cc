// Hostile and mistaken clients: garbage bytes, a 4 GiB length prefix, the
// wrong run, the wrong secret, malformed messages from an authenticated
// peer. The master and the honest peers must keep going.
#include <gtest/gtest.h>
#include <sys/uio.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "membership/auth.h"
#include "membership/frames.h"
#include "membership/master_world_impl.h"
#include "net/blocking.h"
#include "net/handshake.h"
#include "net/tcp.h"
#include "proc.h"
#include "tern/communicator.h"
#include "tern/master.h"
#include "tern/shared_state.h"
#include "util/clock.h"
#include "wire/frame.h"

namespace tern::testing {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kTimeout{10000};

struct Peer {
  std::unique_ptr<MasterWorld> world;
  std::unique_ptr<Communicator> comm;
  std::unique_ptr<SharedState> state;
  std::vector<float> params = std::vector<float>(1000, 1.0f);
};

class HostileClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = Master::StartLocal(/*run_id=*/3, /*min_peers=*/2);
    ASSERT_TRUE(m.ok());
    master_ = std::move(*m);
    std::vector<std::thread> ts;
    for (int i = 0; i < 2; ++i) {
      peers_.push_back(std::make_unique<Peer>());
      ts.emplace_back([this, p = peers_.back().get()] {
        auto w = MasterWorld::Join(master_->PeerOptions(), kTimeout);
        ASSERT_TRUE(w.ok()) << w.status().ToString();
        p->world = std::move(*w);
        p->comm = std::move(*Communicator::Create(p->world.get()));
        p->state = std::move(*SharedState::Create(p->world.get()));
        ASSERT_TRUE(p->state->RegisterTensor("params", TensorView::Of(p->params)).ok());
      });
    }
    for (auto& t : ts) t.join();
  }

  // The honest peers still sync and all-reduce, and a newcomer can join.
  void ExpectRunHealthy() {
    const uint64_t revision = peers_[0]->world->View().revision;
    std::vector<std::thread> ts;
    for (auto& p : peers_) {
      ts.emplace_back([&p] {
        auto r = p->state->SyncSharedState(kTimeout);
        EXPECT_TRUE(r.ok()) << r.status().ToString();
        std::vector<float> g(100, 1.0f);
        Status s = p->comm->AllReduce(TensorView::Of(g), {.timeout = kTimeout});
        EXPECT_TRUE(s.ok()) << s.ToString();
        EXPECT_EQ(g[0], 2.0f);
      });
    }
    for (auto& t : ts) t.join();
    EXPECT_EQ(peers_[0]->world->View().revision, revision);
    EXPECT_EQ(master_->Snapshot().members.size(), 2u);
    auto extra = MasterWorld::Connect(master_->PeerOptions(), kTimeout);
    EXPECT_TRUE(extra.ok()) << extra.status().ToString();
  }

  // Sends `bytes`; with `expect_close`, requires the other side to hang up
  // promptly. (The data-plane listener accepts only while links are being
  // established, so a stranger there waits in the backlog until then.)
  static void SendRaw(const std::string& address, const std::string& bytes,
                      bool expect_close = true) {
    auto conn = net::TcpConnect(address, Deadline::AfterMillis(2000));
    ASSERT_TRUE(conn.ok());
    net::Conn& c = **conn;
    net::WriteAll(c, {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()},
                  Deadline::AfterMillis(2000))
        .IgnoreError();
    if (!expect_close) return;
    // Wait until the other side hangs up (it must, and promptly).
    char b[256];
    const Deadline d = Deadline::AfterMillis(7000);
    for (;;) {
      auto n = c.ReadSome(b, sizeof(b));
      if (!n.ok()) return;
      ASSERT_FALSE(d.Expired()) << address << " kept a hostile connection open";
      if (*n == 0) net::WaitReady(c, true, false, d).IgnoreError();
    }
  }

  // An authenticated control connection, as a peer would open it.
  std::unique_ptr<net::Conn> DialMaster() {
    membership::RunAuthenticator auth(master_->PeerOptions().secret, nullptr);
    auto c = net::TcpConnect(master_->address(), Deadline::AfterMillis(2000));
    if (!c.ok()) return nullptr;
    net::HandshakeParams p;
    p.channel = membership::kMasterChannel;
    p.run_id = master_->run_id();
    p.auth = &auth;
    if (!net::DialHandshake(*c, p, 0, 0, Deadline::AfterMillis(2000)).ok()) return nullptr;
    return std::move(*c);
  }

  static std::string HugeFrameHeader() {
    std::string h(wire::kFrameHeaderSize, '\0');
    h[0] = h[1] = h[2] = h[3] = '\xff';  // 4 GiB - 1 payload bytes follow
    h[4] = 1;                            // a Hello
    return h;
  }

  std::unique_ptr<Master> master_;
  std::vector<std::unique_ptr<Peer>> peers_;
};

TEST_F(HostileClientTest, GarbageAndHugeLengthPrefixAreCutOff) {
  std::string garbage(4096, '\0');
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 131 + 7);
  SendRaw(master_->address(), garbage);
  SendRaw(master_->address(), HugeFrameHeader());
  const Deadline d = Deadline::AfterMillis(2000);
  while (master_->Snapshot().auth_failures < 2 && !d.Expired()) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  EXPECT_GE(master_->Snapshot().auth_failures, 2u);
  ExpectRunHealthy();
}

TEST_F(HostileClientTest, PeerServicesCutOffGarbageToo) {
  const std::string data = peers_[0]->world->DataListener().address();
  SendRaw(data, HugeFrameHeader(), /*expect_close=*/false);
  std::map<uint64_t, std::string> state = peers_[1]->world->impl().StateAddresses();
  for (const auto& [id, address] : state) SendRaw(address, HugeFrameHeader());
  ExpectRunHealthy();
}

TEST_F(HostileClientTest, AuthenticatedPeerSendingAHugeFrameIsDroppedAlone) {
  std::unique_ptr<net::Conn> c = DialMaster();
  ASSERT_NE(c, nullptr);
  // A frame of type PeerToMaster announcing 4 GiB.
  std::string h = HugeFrameHeader();
  h[4] = 0;
  h[5] = 1;
  iovec iov{h.data(), h.size()};
  ASSERT_TRUE(c->WriteSome(&iov, 1).ok());
  char b[64];
  const Deadline d = Deadline::AfterMillis(5000);
  Status closed;
  while (closed.ok() && !d.Expired()) {
    auto n = c->ReadSome(b, sizeof(b));
    if (!n.ok()) closed = n.status();
    else if (*n == 0) net::WaitReady(*c, true, false, d).IgnoreError();
  }
  EXPECT_EQ(closed.code(), StatusCode::kUnavailable);
  ExpectRunHealthy();
}

TEST_F(HostileClientTest, AuthenticatedPeerSendingGarbageMessagesIsDroppedAlone) {
  std::unique_ptr<net::Conn> c = DialMaster();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(net::SendFrame(*c, membership::FrameCode(membership::CpFrame::kPeerToMaster),
                             std::string("\xff\xff\xff\xff\x0f garbage", 14),
                             Deadline::AfterMillis(2000))
                  .ok());
  auto f = net::RecvFrame(*c, 1 << 20, Deadline::AfterMillis(5000));
  EXPECT_FALSE(f.ok());  // closed without an answer
  ExpectRunHealthy();
}

TEST(WrongSecretProcessTest, PeerWithTheWrongSecretIsRefusedWithAClearMessage) {
  const std::string dir = TempDir();
  std::string address;
  const int fd = ListenSocket("127.0.0.1", &address);
  ASSERT_GE(fd, 0);
  const std::string good = WriteSecret(dir, "good", "the-right-secret-for-this-run");
  const std::string bad = WriteSecret(dir, "bad", "not-the-secret-of-this-run!!");
  Child master = Child::Start({"master", "--listen-fd", std::to_string(fd), "--secret-file", good},
                              fd, dir + "/master.log");
  ASSERT_TRUE(master.ReadLine(milliseconds(5000)).has_value());
  Child peer = Child::Start({"chaos-worker", "--master", address, "--secret-file", bad},
                            -1, dir + "/peer.log");
  EXPECT_EQ(peer.Wait(), 1);
  master.Kill(SIGTERM);
  master.Wait();
  std::ifstream peer_log(dir + "/peer.log"), master_log(dir + "/master.log");
  std::string p((std::istreambuf_iterator<char>(peer_log)), {});
  std::string m((std::istreambuf_iterator<char>(master_log)), {});
  EXPECT_NE(p.find("PERMISSION_DENIED"), std::string::npos) << p;
  EXPECT_NE(p.find("secret"), std::string::npos) << p;
  EXPECT_NE(m.find("did not prove knowledge of the run secret"), std::string::npos) << m;
  ::close(fd);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tern::testing
