// A host that vanishes without a word: one peer runs in its own network
// namespace behind a veth pair, and the test takes the link down. No RST
// or FIN ever arrives, so only the master's heartbeats can notice. The
// target: detected within the heartbeat timeout plus 1 s, and the
// survivors go on bit-identical.
//
// Needs root and `ip netns`; without them the test is skipped with a
// message (reported as skipped, never silently passed). It creates and
// deletes its own namespace and veth pair (names carry the pid) and
// touches no other interface.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "proc.h"
#include "tern/master.h"
#include "util/clock.h"

namespace tern::testing {
namespace {

using std::chrono::milliseconds;

bool Sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

// The namespace, the veth pair and the addresses; removed on destruction.
class VanishingHost {
 public:
  VanishingHost() {
    const int tag = static_cast<int>(::getpid() % 10000);
    ns_ = "tern-vanish-" + std::to_string(::getpid());
    host_if_ = "tvh" + std::to_string(tag);
    ns_if_ = "tvn" + std::to_string(tag);
    const std::string net = "10.213." + std::to_string(tag % 250);
    host_ip_ = net + ".1";
    ns_ip_ = net + ".2";
    ok_ = Sh("ip netns add " + ns_) &&
          Sh("ip link add " + host_if_ + " type veth peer name " + ns_if_) &&
          Sh("ip link set " + ns_if_ + " netns " + ns_) &&
          Sh("ip addr add " + host_ip_ + "/30 dev " + host_if_) &&
          Sh("ip link set " + host_if_ + " up") &&
          Sh("ip netns exec " + ns_ + " ip addr add " + ns_ip_ + "/30 dev " + ns_if_) &&
          Sh("ip netns exec " + ns_ + " ip link set " + ns_if_ + " up") &&
          Sh("ip netns exec " + ns_ + " ip link set lo up");
  }
  ~VanishingHost() {
    Sh("ip netns del " + ns_);
    Sh("ip link del " + host_if_);  // gone with the namespace, normally
  }
  bool ok() const { return ok_; }
  bool TakeDown() { return Sh("ip link set " + host_if_ + " down"); }
  const std::string& ns() const { return ns_; }
  const std::string& host_ip() const { return host_ip_; }
  const std::string& ns_ip() const { return ns_ip_; }

 private:
  std::string ns_, host_if_, ns_if_, host_ip_, ns_ip_;
  bool ok_ = false;
};

struct Report {
  uint64_t step = 0, revision = 0;
  std::string hash;
  int64_t t = 0;
};

std::optional<Report> ParseD(const std::string& line) {
  std::istringstream in(line);
  std::string kind;
  Report r;
  if (!(in >> kind) || kind != "D" || !(in >> r.step >> r.revision >> r.hash >> r.t)) {
    return std::nullopt;
  }
  return r;
}

TEST(VanishTest, SilentHostIsDetectedWithinHeartbeatTimeoutPlusOneSecond) {
  if (::geteuid() != 0 || !Sh("ip netns list")) {
    GTEST_SKIP() << "needs root and `ip netns` (network namespaces): skipped";
  }
  VanishingHost host;
  ASSERT_TRUE(host.ok()) << "could not create the namespace and veth pair";
  const std::string dir = TempDir();
  const std::string secret = "vanish-test-secret-0123456789";
  const std::string secret_file = WriteSecret(dir, "secret", secret);
  MasterOptions mo;
  mo.listen_address = host.host_ip() + ":0";
  mo.secret = secret;
  mo.min_peers = 3;
  mo.fresh_run = true;
  auto master = Master::Start(mo);
  ASSERT_TRUE(master.ok()) << master.status().ToString();
  auto worker = [&](const std::string& listen_host, const std::vector<std::string>& prefix,
                    const std::string& log) {
    return Child::Start({"chaos-worker", "--master", (*master)->address(), "--secret-file",
                         secret_file, "--numel", "65536", "--steps", "1000000", "--listen-host",
                         listen_host},
                        -1, dir + "/" + log, prefix);
  };
  std::vector<Child> survivors;
  survivors.push_back(worker(host.host_ip(), {}, "a.log"));
  survivors.push_back(worker(host.host_ip(), {}, "b.log"));
  Child vanisher = worker(host.ns_ip(), {"ip", "netns", "exec", host.ns()}, "c.log");
  // Let the run get going on all three.
  for (Child* c : {&survivors[0], &survivors[1], &vanisher}) {
    int steps = 0;
    while (steps < 5) {
      auto line = c->ReadLine(milliseconds(20000));
      ASSERT_TRUE(line.has_value()) << "a peer made no progress";
      if (ParseD(*line)) ++steps;
    }
  }
  uint64_t victim = 0;
  for (const PeerInfo& p : (*master)->Snapshot().members) {
    if (p.data_address.rfind(host.ns_ip() + ":", 0) == 0) victim = p.peer_id;
  }
  ASSERT_NE(victim, 0u);

  const int64_t down = NowNanos();
  ASSERT_TRUE(host.TakeDown());
  bool gone = false;
  while (!gone && NowNanos() - down < int64_t{10} * 1000000000) {
    gone = true;
    for (const PeerInfo& p : (*master)->Snapshot().members) gone = gone && p.peer_id != victim;
    if (!gone) std::this_thread::sleep_for(milliseconds(5));
  }
  const double detect_ms = static_cast<double>(NowNanos() - down) * 1e-6;
  std::printf("vanished host detected after %.0f ms (heartbeat timeout %lld ms)\n", detect_ms,
              static_cast<long long>(mo.heartbeat_timeout.count()));
  RecordProperty("detection_ms", std::to_string(static_cast<int>(detect_ms)));
  ASSERT_TRUE(gone) << "the master never dropped the vanished peer";
  EXPECT_LE(detect_ms, static_cast<double>(mo.heartbeat_timeout.count() + 1000));

  // The survivors resume on the new revision and agree bit for bit.
  const uint64_t new_revision = (*master)->Snapshot().revision;
  std::map<std::pair<uint64_t, uint64_t>, std::set<std::string>> seen;
  int64_t first_step_after = 0;
  for (Child& c : survivors) {
    int after = 0;
    while (after < 10) {
      auto line = c.ReadLine(milliseconds(20000));
      ASSERT_TRUE(line.has_value()) << "a survivor stopped making progress";
      auto r = ParseD(*line);
      if (!r || r->revision < new_revision) continue;
      if (after == 0 && (first_step_after == 0 || r->t > first_step_after)) first_step_after = r->t;
      seen[{r->step, r->revision}].insert(r->hash);
      ++after;
    }
  }
  std::printf("survivors stepping again %.0f ms after the link went down\n",
              static_cast<double>(first_step_after - down) * 1e-6);
  for (const auto& [key, hashes] : seen) EXPECT_EQ(hashes.size(), 1u) << "step " << key.first;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tern::testing
