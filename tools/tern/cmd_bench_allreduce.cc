// `tern bench allreduce`: all-reduce throughput over loopback TCP (or, with
// --rank/--peers, across hosts or network namespaces), in the busbw
// convention of nccl-tests: busbw = algbw * 2(n-1)/n.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "command.h"
#include "net/tcp.h"
#include "tern/codec.h"
#include "tern/communicator.h"
#include "tern/world.h"
#include "util/clock.h"

namespace tern::cli {
namespace {

struct BenchOptions {
  int ranks = 2;
  uint64_t bytes = uint64_t{64} << 20;
  std::string codec;
  int streams = 2;
  int reps = 5;
  int warmup = 2;
  int iters = 0;  // per rep; 0 = enough for ~256 MiB per rep
  std::string algorithm = "auto";
  uint64_t chunk_kib = 0;
  int timeout_s = 120;
  bool no_checksums = false;
  bool json = false;
  // One-rank mode.
  int rank = -1;
  std::string peers;   // comma-separated data addresses in rank order
  std::string listen;  // bind here instead of peers[rank]
};

Result<Algorithm> ParseAlgorithm(const std::string& s) {
  if (s == "auto") return Algorithm::kAuto;
  if (s == "ring") return Algorithm::kRing;
  if (s == "rd" || s == "recursive-doubling") return Algorithm::kRecursiveDoubling;
  if (s == "hd" || s == "halving-doubling") return Algorithm::kHalvingDoubling;
  return InvalidArgumentError("unknown algorithm '" + s + "' (auto, ring, rd, hd)");
}

int Iterations(const BenchOptions& o) {
  if (o.iters > 0) return o.iters;
  const uint64_t target = uint64_t{256} << 20;
  return static_cast<int>(std::clamp<uint64_t>(target / std::max<uint64_t>(o.bytes, 1), 3, 200));
}

// Runs the benchmark as one rank; returns seconds per all-reduce, one
// entry per repetition (the same on every rank up to noise).
Result<std::vector<double>> RunRank(World& world, const BenchOptions& o) {
  CommunicatorOptions copts;
  copts.streams = o.streams;
  if (o.chunk_kib > 0) copts.chunk_bytes = o.chunk_kib << 10;
  copts.checksums = !o.no_checksums;
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> comm, Communicator::Create(&world, copts));
  TERN_ASSIGN_OR_RETURN(Algorithm algo, ParseAlgorithm(o.algorithm));
  std::unique_ptr<Codec> codec;
  if (!o.codec.empty()) {
    TERN_ASSIGN_OR_RETURN(codec, Codec::Create(o.codec));
  }
  std::vector<float> buf(o.bytes / sizeof(float));
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<float>(i % 1000) * 1e-3f - 0.5f;
  AllReduceOptions ar;
  ar.op = codec ? ReduceOp::kAvg : ReduceOp::kSum;  // avg keeps coded values in range
  ar.timeout = std::chrono::seconds(o.timeout_s);
  ar.algorithm = codec ? Algorithm::kAuto : algo;
  ar.codec = codec.get();
  CollectiveOptions barrier;
  barrier.timeout = ar.timeout;
  TERN_RETURN_IF_ERROR(comm->Connect(std::chrono::seconds(o.timeout_s)));
  // Warm-up: faults in the scratch buffers and grows TCP windows.
  for (int i = 0; i < o.warmup; ++i) TERN_RETURN_IF_ERROR(comm->AllReduce(TensorView::Of(buf), ar));
  const int iters = Iterations(o);
  std::vector<double> per_op;
  for (int rep = 0; rep < o.reps; ++rep) {
    TERN_RETURN_IF_ERROR(comm->Barrier(barrier));
    const double t0 = NowSeconds();
    for (int i = 0; i < iters; ++i) TERN_RETURN_IF_ERROR(comm->AllReduce(TensorView::Of(buf), ar));
    per_op.push_back((NowSeconds() - t0) / iters);
    if (world.View().rank == 0 && !o.json) {
      std::fprintf(stderr, "bench allreduce: rep %d/%d\r", rep + 1, o.reps);
    }
  }
  if (world.View().rank == 0 && !o.json) std::fprintf(stderr, "\n");
  return per_op;
}

void Report(const BenchOptions& o, std::vector<double> per_op) {
  std::sort(per_op.begin(), per_op.end());
  const double seconds = per_op[per_op.size() / 2];
  const double algbw = static_cast<double>(o.bytes) / seconds / 1e9;
  const double busbw = algbw * 2.0 * (o.ranks - 1) / o.ranks;
  nlohmann::json j = {{"ranks", o.ranks},       {"bytes", o.bytes},       {"seconds", seconds},
                      {"algbw_gbps", algbw},    {"busbw_gbps", busbw},    {"streams", o.streams},
                      {"codec", o.codec.empty() ? "none" : o.codec}, {"algorithm", o.algorithm},
                      {"reps", o.reps},         {"iters", Iterations(o)}};
  if (o.json) {
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("ranks %d  bytes %llu  codec %s  median %.3f ms  algbw %.3f GB/s  busbw %.3f GB/s\n",
                o.ranks, static_cast<unsigned long long>(o.bytes),
                o.codec.empty() ? "none" : o.codec.c_str(), seconds * 1e3, algbw, busbw);
  }
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(item);
  return out;
}

int RunOneRank(BenchOptions o) {
  std::vector<std::string> addrs = Split(o.peers);
  o.ranks = static_cast<int>(addrs.size());
  if (o.rank < 0 || o.rank >= o.ranks) return Fail("--rank must index --peers");
  StaticWorldOptions w;
  w.run_id = 0xBE7C;
  w.rank = o.rank;
  for (int r = 0; r < o.ranks; ++r) w.peers.push_back({static_cast<uint64_t>(r + 1), addrs[r]});
  if (!o.listen.empty()) {
    auto l = net::Listener::Bind(o.listen);
    if (!l.ok()) return Fail(l.status());
    w.listen_fd = (*l)->ReleaseFd();
  }
  auto world = StaticWorld::Create(w);
  if (!world.ok()) return Fail(world.status());
  auto per_op = RunRank(**world, o);
  if (!per_op.ok()) return Fail(per_op.status());
  if (o.rank == 0) Report(o, *per_op);
  return 0;
}

// Spawns o.ranks processes on loopback; rank 0 reports through a pipe.
int RunSpawned(const BenchOptions& o) {
  std::vector<std::unique_ptr<net::Listener>> listeners;
  for (int r = 0; r < o.ranks; ++r) {
    auto l = net::Listener::Bind("127.0.0.1:0");
    if (!l.ok()) return Fail(l.status());
    listeners.push_back(std::move(*l));
  }
  int pipefd[2];
  if (::pipe(pipefd) != 0) return Fail("pipe failed");
  std::vector<pid_t> pids;
  for (int r = 0; r < o.ranks; ++r) {
    const pid_t pid = ::fork();
    if (pid < 0) return Fail("fork failed");
    if (pid > 0) {
      pids.push_back(pid);
      continue;
    }
    ::close(pipefd[0]);
    StaticWorldOptions w;
    w.run_id = 0xBE7C;
    w.rank = r;
    for (int q = 0; q < o.ranks; ++q) {
      w.peers.push_back({static_cast<uint64_t>(q + 1), listeners[q]->address()});
    }
    w.listen_fd = listeners[r]->ReleaseFd();
    listeners.clear();  // closes the other ranks' sockets in this child
    auto world = StaticWorld::Create(w);
    auto per_op = world.ok() ? RunRank(**world, o) : Result<std::vector<double>>(world.status());
    if (!per_op.ok()) {
      std::fprintf(stderr, "tern: error: rank %d: %s\n", r, per_op.status().ToString().c_str());
      ::_exit(1);
    }
    if (r == 0) {
      const size_t n = per_op->size() * sizeof(double);
      if (::write(pipefd[1], per_op->data(), n) != static_cast<ssize_t>(n)) ::_exit(1);
    }
    ::_exit(0);
  }
  listeners.clear();
  ::close(pipefd[1]);
  std::vector<double> per_op(static_cast<size_t>(o.reps));
  const ssize_t got = ::read(pipefd[0], per_op.data(), per_op.size() * sizeof(double));
  ::close(pipefd[0]);
  bool ok = got == static_cast<ssize_t>(per_op.size() * sizeof(double));
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  if (!ok) return Fail("a rank failed (see above)");
  Report(o, per_op);
  return 0;
}

}  // namespace

TERN_COMMAND(BenchAllReduce, "bench allreduce") {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = AddCommand(
      root, {"bench", "allreduce"},
      "All-reduce throughput: spawns --ranks processes on loopback TCP (or runs one rank of a\n"
      "run spread over hosts with --rank/--peers) and prints the median time per all-reduce,\n"
      "algbw = bytes/time and busbw = algbw * 2(n-1)/n in GB/s (10^9 bytes/s).",
      [o] {
        if (o->ranks < 1 || o->ranks > 64) return Fail("--ranks must be in [1, 64]");
        if (o->reps < 1) return Fail("--reps must be >= 1");
        if (o->bytes % sizeof(float) != 0) return Fail("--bytes must be a multiple of 4");
        if (!o->codec.empty()) {
          auto c = Codec::Create(o->codec);
          if (!c.ok()) return Fail(c.status());
        }
        if (!ParseAlgorithm(o->algorithm).ok()) return Fail(ParseAlgorithm(o->algorithm).status());
        return o->rank >= 0 ? RunOneRank(*o) : RunSpawned(*o);
      });
  cmd->add_option("--ranks", o->ranks, "processes to spawn on loopback")->capture_default_str();
  cmd->add_option("--bytes", o->bytes, "fp32 buffer size in bytes")->capture_default_str();
  cmd->add_option("--codec", o->codec, "compress with this codec spec (e.g. int8:block=256)");
  cmd->add_option("--streams", o->streams, "TCP streams per peer link")->capture_default_str();
  cmd->add_option("--reps", o->reps, "timed repetitions (the median is reported)")->capture_default_str();
  cmd->add_option("--warmup", o->warmup, "untimed all-reduces first")->capture_default_str();
  cmd->add_option("--iters", o->iters, "all-reduces per repetition (0: ~256 MiB per repetition)");
  cmd->add_option("--algorithm", o->algorithm, "auto, ring, rd (recursive doubling) or hd (halving-doubling)")->capture_default_str();
  cmd->add_option("--chunk-kib", o->chunk_kib, "pipeline chunk in KiB (0: library default)");
  cmd->add_option("--timeout", o->timeout_s, "seconds per collective")->capture_default_str();
  cmd->add_flag("--no-checksums", o->no_checksums, "skip the crc32c of data frames");
  cmd->add_flag("--json", o->json, "print one JSON object");
  cmd->add_option("--rank", o->rank, "run only this rank (with --peers)");
  cmd->add_option("--peers", o->peers, "data addresses of all ranks, comma-separated, rank order");
  cmd->add_option("--listen", o->listen, "bind this address instead of this rank's --peers entry");
}

}  // namespace tern::cli
