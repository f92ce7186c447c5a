// A strategy run survives a peer killed with SIGKILL and a new peer joining:
// real processes (a master and workers) over loopback, the master-backed
// world, shared-state sync at safe points (tern/algo_sync.h). At the end,
// every surviving peer's replicated state is bit-identical, checked twice:
// by hashing it before the final safe point, and by that sync having
// nothing to repair.
//
// The parent never starts a thread, so forking it stays safe; each child
// reports progress on a pipe ("step N", then "done <hash> <fixed> <state
// hash>", or "error <status>").
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "algo/adamw.h"
#include "algo/toy_task.h"
#include "tern/algo_sync.h"
#include "tern/master.h"
#include "tern/shared_state.h"
#include "tests/algo/harness.h"

namespace tern {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kTimeout{15000};
constexpr int64_t kSteps = 60;

struct Child {
  pid_t pid = -1;
  int fd = -1;  // read end of its report pipe
  std::string buffer;
};

// Kills and reaps every child when the test ends, whichever way it ends.
struct Reaper {
  std::vector<Child*> children;
  ~Reaper() {
    for (Child* c : children) {
      if (c->pid > 0) {
        ::kill(c->pid, SIGKILL);
        ::waitpid(c->pid, nullptr, 0);
      }
      if (c->fd >= 0) ::close(c->fd);
    }
  }
};

// Forks `fn(write_fd)`; the child exits with its return value.
template <class Fn>
Child Fork(Fn fn) {
  int p[2];
  EXPECT_EQ(::pipe(p), 0);
  Child c;
  c.pid = ::fork();
  if (c.pid == 0) {
    ::close(p[0]);
    const int code = fn(p[1]);
    ::_exit(code);
  }
  ::close(p[1]);
  c.fd = p[0];
  return c;
}

// The next line from a child, or "" on EOF / timeout.
std::string ReadLine(Child& c, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const size_t nl = c.buffer.find('\n');
    if (nl != std::string::npos) {
      std::string line = c.buffer.substr(0, nl);
      c.buffer.erase(0, nl + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<milliseconds>(deadline -
                                                                std::chrono::steady_clock::now());
    if (left.count() <= 0) return "";
    pollfd pfd{c.fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return "";
    char buf[512];
    const ssize_t n = ::read(c.fd, buf, sizeof buf);
    if (n <= 0) return "";
    c.buffer.append(buf, static_cast<size_t>(n));
  }
}

// Reads "step N" lines until N >= step; false on EOF, error or timeout.
bool WaitForStep(Child& c, int64_t step) {
  for (;;) {
    std::string line = ReadLine(c, kTimeout);
    if (line.rfind("info ", 0) == 0) continue;
    if (line.rfind("step ", 0) != 0) {
      ADD_FAILURE() << "child said '" << line << "' while waiting for step " << step;
      return false;
    }
    if (std::stoll(line.substr(5)) >= step) return true;
  }
}

void Report(int fd, const std::string& line) {
  const std::string s = line + "\n";
  if (::write(fd, s.data(), s.size()) < 0) ::_exit(3);
}

// Retries the safe point until it succeeds (a member may die or join while
// it runs, which aborts it).
Status SafePoint(StrategySync& sync, MasterWorld& world, Communicator& comm, SyncReport* out) {
  Status last;
  for (int attempt = 0; attempt < 20; ++attempt) {
    Result<SyncReport> r = sync.SafePoint(&world, &comm, kTimeout);
    if (r.ok()) {
      if (out) *out = *r;
      return OkStatus();
    }
    last = r.status();
    std::this_thread::sleep_for(milliseconds(20));
  }
  return last;
}

// One worker: trains the toy MLP under `config` until the replicated step
// reaches kSteps, with a safe point whenever peers wait or a hook fails.
Status Worker(const StrategyConfig& config, const MasterWorldOptions& options, int fd) {
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<MasterWorld> world, MasterWorld::Join(options, kTimeout));
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> comm, Communicator::Create(world.get()));
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<SharedState> state, SharedState::Create(world.get()));
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<Strategy> strategy, Strategy::Create(config));
  const algo::toy::Mlp mlp({16, 24, 24, 24, 4});
  const algo::toy::GaussianMixture data =
      algo::toy::MakeGaussianMixture({.dim = 16, .noise = 1.0f, .train = 4096, .eval = 256});
  std::vector<float> params(mlp.num_params()), grads(params.size());
  mlp.Init(params, 7);
  algo::AdamW adam(params.size(), algo::AdamWOptions{.weight_decay = 0});
  TERN_RETURN_IF_ERROR(strategy->Attach(
      comm.get(), world.get(),
      {.parameters = params, .gradients = grads, .layout = mlp.Layout(),
       .optimizer_state = {{"adamw.m", false, adam.first_moment()},
                           {"adamw.v", false, adam.second_moment()}}}));
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<StrategySync> sync,
                        StrategySync::Create(strategy.get(), state.get()));
  // Under data parallelism the inner optimizer's moments are replicated
  // state (the strategy declares them so), and so is its step count: the
  // strategy's replicated step, one AdamW step per step (as in tern train).
  auto safe_point = [&](SyncReport* report) -> Status {
    TERN_RETURN_IF_ERROR(SafePoint(*sync, *world, *comm, report));
    if (strategy->name() == "ddp") adam.SetSteps(strategy->step());
    return OkStatus();
  };
  TERN_RETURN_IF_ERROR(safe_point(nullptr));  // a joiner gets the state here
  const uint64_t id = world->peer_id();
  std::vector<float> x;
  std::vector<int> y;
  while (strategy->step() < kSteps) {
    TERN_ASSIGN_OR_RETURN(bool pending, world->PeersPending(milliseconds(0)));
    if (pending || world->AnnouncedRevision() > world->View().revision) {
      TERN_RETURN_IF_ERROR(safe_point(nullptr));
    }
    const int64_t t = strategy->step();
    algo::toy::SampleBatch(data.train, 0, data.train.size(), 1, id, static_cast<uint64_t>(t), 16,
                           &x, &y);
    // Runs a hook until it succeeds, with a safe point after each failure.
    auto run = [&](const std::function<Status(int)>& hook) -> Status {
      Status s = hook(0);
      for (int attempt = 1; !s.ok(); ++attempt) {
        Report(fd, "info step " + std::to_string(t) + ": " + s.ToString());
        if (attempt > 10) return s.WithContext("hook kept failing");
        TERN_RETURN_IF_ERROR(safe_point(nullptr));
        s = hook(attempt);
      }
      return OkStatus();
    };
    if (strategy->ZerothOrder()) {
      auto loss = [&]() -> Result<float> { return mlp.Loss(params, x, y); };
      TERN_RETURN_IF_ERROR(
          run([&](int a) { return strategy->ZerothOrderStep({.step = t, .attempt = a}, loss); }));
    } else {
      mlp.LossAndGradient(params, x, y, grads);
      TERN_RETURN_IF_ERROR(
          run([&](int a) { return strategy->AfterBackward({.step = t, .attempt = a}); }));
      adam.Step(params, grads, 1e-3f);
      TERN_RETURN_IF_ERROR(
          run([&](int a) { return strategy->AfterOptimizerStep({.step = t, .attempt = a}); }));
    }
    Report(fd, "step " + std::to_string(strategy->step()));
    std::this_thread::sleep_for(milliseconds(15));
  }
  TERN_RETURN_IF_ERROR(strategy->Finish());
  const uint64_t before = testing::ReplicatedHash(*strategy);
  SyncReport final_sync;
  TERN_RETURN_IF_ERROR(safe_point(&final_sync));
  Report(fd, "done " + std::to_string(before) + " " + std::to_string(final_sync.fixed.size()) +
                 " " + std::to_string(final_sync.state_hash));
  return OkStatus();
}

int RunWorker(const StrategyConfig& config, const MasterWorldOptions& options, int fd) {
  Status s = Worker(config, options, fd);
  if (!s.ok()) Report(fd, "error " + s.ToString());
  return s.ok() ? 0 : 1;
}

// A listening loopback socket on a free port (created before any fork).
int Listen(int* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::listen(fd, 64), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

struct Case {
  const char* name;
  StrategyConfig config;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class KillJoinTest : public ::testing::TestWithParam<Case> {};

TEST_P(KillJoinTest, ReplicatedStateBitIdenticalAfterKillAndJoin) {
  const StrategyConfig config = GetParam().config;
  int port = 0;
  const int listen_fd = Listen(&port);
  Result<std::string> secret = GenerateSecret();
  ASSERT_TRUE(secret.ok());
  std::vector<Child> workers;
  workers.reserve(4);
  Reaper reaper;
  Child master = Fork([&](int fd) {
    MasterOptions o;
    o.listen_fd = listen_fd;
    o.run_id = 77;
    o.secret = *secret;
    o.min_peers = 3;
    o.fresh_run = true;
    Result<std::unique_ptr<Master>> m = Master::Start(o);
    Report(fd, m.ok() ? "ready" : "error " + m.status().ToString());
    if (!m.ok()) return 1;
    ::pause();  // until the parent kills it
    return 0;
  });
  reaper.children.push_back(&master);
  ::close(listen_fd);
  ASSERT_EQ(ReadLine(master, kTimeout), "ready");
  MasterWorldOptions peer;
  peer.master_address = "127.0.0.1:" + std::to_string(port);
  peer.run_id = 77;
  peer.secret = *secret;

  for (int i = 0; i < 3; ++i) {
    workers.push_back(Fork([&](int fd) { return RunWorker(config, peer, fd); }));
    reaper.children.push_back(&workers.back());
  }
  // Kill worker 2 mid-run, then start a joiner.
  ASSERT_TRUE(WaitForStep(workers[0], 17));
  ::kill(workers[2].pid, SIGKILL);
  ASSERT_TRUE(WaitForStep(workers[0], 30));
  workers.push_back(Fork([&](int fd) { return RunWorker(config, peer, fd); }));
  reaper.children.push_back(&workers.back());

  std::vector<std::string> done;
  for (int i : {0, 1, 3}) {
    std::string line;
    do {
      line = ReadLine(workers[i], std::chrono::seconds(60));
    } while (line.rfind("step ", 0) == 0 || line.rfind("info ", 0) == 0);
    EXPECT_EQ(line.rfind("done ", 0), 0u) << "worker " << i << ": " << line;
    done.push_back(line);
  }

  // "done <hash before the final sync> <entries it repaired> <state hash>"
  ASSERT_EQ(done.size(), 3u);
  for (const std::string& d : done) {
    EXPECT_EQ(d, done[0]) << "replicated state differs between peers";
    EXPECT_NE(d.find(" 0 "), std::string::npos) << "the final sync had to repair state: " << d;
  }
}

StrategyConfig DiLoCo() {
  DiLoCoOptions o;
  o.sync_every = 5;
  o.codec = "int8:block=256";
  return o;
}
StrategyConfig Streaming() {
  StreamingDiLoCoOptions o;
  o.sync_every = 6;
  o.fragments = 2;
  o.sync_delay = 1;
  return o;
}
StrategyConfig Async() {
  AsyncDiLoCoOptions o;
  o.sync_every = 5;
  return o;
}
StrategyConfig Co2() {
  Co2Options o;
  o.sync_every = 5;
  o.clip = true;
  return o;
}
StrategyConfig Ddp() {
  DataParallelOptions o;
  o.codec = "ef21(int8:block=64)";
  return o;
}
StrategyConfig Zo() {
  ZerothOrderOptions o;
  o.common.seed = 3;
  return o;
}
StrategyConfig NoLoCo() {
  NoLoCoOptions o;
  o.sync_every = 5;
  return o;
}

INSTANTIATE_TEST_SUITE_P(Strategies, KillJoinTest,
                         ::testing::Values(Case{"diloco", DiLoCo()},
                                           Case{"streaming_diloco", Streaming()},
                                           Case{"async_diloco", Async()},
                                           Case{"co2", Co2()},
                                           Case{"noloco", NoLoCo()},
                                           Case{"ddp_ef21", Ddp()},
                                           Case{"zo", Zo()}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace tern
