// `tern bench codec`: every codec on the same buffer, single thread: bits per
// element, ratio, encode/decode GB/s of fp32, relative L2 error, against a
// memcpy of the same buffer measured in the same run (the physical bound).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "command.h"
#include "tern/codec.h"
#include "util/clock.h"

namespace tern::cli {
namespace {

const char* const kDefaultSpecs[] = {
    "fp16",
    "bf16",
    "int8:block=256",
    "int8:block=256,rounding=stochastic",
    "int4:block=64",
    "lut8",
    "fp4",
    "fp4:format=e3m0",
    "qsgd",
    "terngrad",
    "sign",
    "sign:scale=l2",
    "topk:density=0.01",
    "topk:density=0.01,select=sampled",
    "randk:density=0.01",
    "compeft:density=0.05,alpha=1|rice",
    "fedzip",
    "fp32|zstd:level=1",
};

struct Options {
  uint64_t elements = uint64_t{1} << 24;
  int reps = 3;
  std::string clock = "wall";
  std::vector<std::string> specs;
  bool json = false;
};

struct Row {
  std::string spec;
  double bits = 0, encode_gbps = 0, decode_gbps = 0, rel_l2 = 0;
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The clock of every measurement: wall time, or this thread's CPU time
// (--clock cpu), which leaves out the time other processes hold the core,
// for a machine shared with other jobs (memory contention stays in).
int64_t (*g_now)() = NowNanos;

int64_t ThreadCpuNanos() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

// The 1-minute load average (-1 if /proc/loadavg cannot be read).
double LoadAverage() {
  double load = -1.0;
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = -1.0;
    std::fclose(f);
  }
  return load;
}

template <typename Fn>
double MedianSeconds(int reps, Fn&& fn) {
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    int64_t start = g_now();
    fn();
    t.push_back(static_cast<double>(g_now() - start) * 1e-9);
  }
  return Median(t);
}

double RelL2(const std::vector<float>& x, const std::vector<float>& y) {
  double num = 0, den = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = static_cast<double>(x[i]) - y[i];
    num += d * d;
    den += static_cast<double>(x[i]) * x[i];
  }
  return den > 0 ? std::sqrt(num / den) : 0.0;
}

Result<Row> BenchOne(const std::string& spec, const std::vector<float>& x, std::vector<float>& y,
                     int reps) {
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<Codec> codec, Codec::Create(spec));
  const double gb = 4.0 * static_cast<double>(x.size()) * 1e-9;
  std::vector<uint8_t> buf(codec->MaxEncodedSize(x.size()), 1);  // touched up front
  CodecContext ctx{.seed = 1, .step = 1, .tensor_id = 1, .offset = 0, .peer_id = 0};
  size_t size = 0;
  Status status;
  const double enc = MedianSeconds(reps, [&] {
    Result<size_t> r = codec->Encode(x, ctx, std::span<uint8_t>(buf));
    if (r.ok()) size = *r; else status = r.status();
  });
  TERN_RETURN_IF_ERROR(status);
  const std::span<const uint8_t> payload(buf.data(), size);
  const double dec = MedianSeconds(reps, [&] {
    Status s = codec->Decode(payload, ctx, std::span<float>(y));
    if (!s.ok()) status = s;
  });
  TERN_RETURN_IF_ERROR(status);
  Row row;
  row.spec = codec->spec();
  row.bits = 8.0 * static_cast<double>(size) / static_cast<double>(x.size());
  row.encode_gbps = gb / enc;
  row.decode_gbps = gb / dec;
  row.rel_l2 = RelL2(x, y);
  return row;
}

const Row* Find(const std::vector<Row>& rows, std::string_view prefix) {
  for (const Row& r : rows) {
    if (r.spec.rfind(prefix, 0) == 0) return &r;
  }
  return nullptr;
}

// The targets, each against a figure measured in this run.
nlohmann::json Targets(const std::vector<Row>& rows, double memcpy_gbps) {
  nlohmann::json t = nlohmann::json::array();
  auto add = [&](const std::string& what, double value, double goal, bool at_least) {
    t.push_back({{"target", what}, {"value", value}, {"goal", goal},
                 {"met", at_least ? value >= goal : value <= goal}});
  };
  if (const Row* r = Find(rows, "int8:block=256,rounding=nearest")) {
    add("int8 encode / memcpy", r->encode_gbps / memcpy_gbps, 0.5, true);
  }
  if (const Row* r = Find(rows, "sign:scale=l1")) {
    add("sign encode / memcpy", r->encode_gbps / memcpy_gbps, 0.5, true);
  }
  const Row* sampled = Find(rows, "topk:density=0.01,select=sampled");
  const Row* exact = Find(rows, "topk:density=0.01,select=exact");
  if (sampled) add("sampled top-k 1% encode / memcpy", sampled->encode_gbps / memcpy_gbps, 0.2, true);
  if (sampled && exact) {
    add("sampled / exact top-k 1% encode", sampled->encode_gbps / exact->encode_gbps, 5.0, true);
  }
  if (const Row* r = Find(rows, "compeft:density=0.05,alpha=1|rice")) {
    add("compeft 5% + Rice bits/element", r->bits, 0.40, false);
  }
  return t;
}

int Run(const Options& o) {
  if (o.elements == 0 || o.elements > (uint64_t{1} << 28)) {
    return Fail(InvalidArgumentError("--elements must be in [1, 2^28]"));
  }
  if (o.reps < 1) return Fail(InvalidArgumentError("--reps must be >= 1"));
  if (o.clock != "wall" && o.clock != "cpu") {
    return Fail(InvalidArgumentError("--clock must be wall or cpu"));
  }
  g_now = o.clock == "cpu" ? ThreadCpuNanos : NowNanos;
  const double load = LoadAverage();
  const size_t n = static_cast<size_t>(o.elements);
  std::vector<float> x(n), y(n, 0.0f), copy(n, 0.0f);
  std::mt19937 gen(12345);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& v : x) v = normal(gen);
  const double memcpy_gbps =
      4.0 * static_cast<double>(n) * 1e-9 /
      MedianSeconds(std::max(o.reps, 5), [&] { std::memcpy(copy.data(), x.data(), 4 * n); });
  std::vector<std::string> specs = o.specs;
  if (specs.empty()) specs.assign(std::begin(kDefaultSpecs), std::end(kDefaultSpecs));
  std::vector<Row> rows;
  for (size_t i = 0; i < specs.size(); ++i) {
    std::fprintf(stderr, "bench codec: [%zu/%zu] %s\n", i + 1, specs.size(), specs[i].c_str());
    Result<Row> row = BenchOne(specs[i], x, y, o.reps);
    if (!row.ok()) return Fail(row.status().WithContext(specs[i]));
    rows.push_back(*row);
  }
  nlohmann::json targets = Targets(rows, memcpy_gbps);
  if (o.json) {
    nlohmann::json j = {{"elements", n},          {"reps", o.reps}, {"clock", o.clock},
                        {"load_average", load}, {"memcpy_gbps", memcpy_gbps}};
    j["codecs"] = nlohmann::json::array();
    for (const Row& r : rows) {
      j["codecs"].push_back({{"spec", r.spec}, {"bits_per_element", r.bits},
                             {"ratio", 32.0 / r.bits}, {"encode_gbps", r.encode_gbps},
                             {"decode_gbps", r.decode_gbps}, {"rel_l2_error", r.rel_l2}});
    }
    j["targets"] = targets;
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%zu fp32 elements, single thread, median of %d (%s clock, load %.2f); memcpy %.2f GB/s\n",
              n, o.reps, o.clock.c_str(), load, memcpy_gbps);
  std::printf("%-46s %8s %8s %9s %6s %9s %6s %9s\n", "spec", "bits/el", "ratio", "enc GB/s",
              "x mem", "dec GB/s", "x mem", "rel L2");
  for (const Row& r : rows) {
    std::printf("%-46s %8.4f %8.1f %9.3f %6.2f %9.3f %6.2f %9.2e\n", r.spec.c_str(), r.bits,
                32.0 / r.bits, r.encode_gbps, r.encode_gbps / memcpy_gbps, r.decode_gbps,
                r.decode_gbps / memcpy_gbps, r.rel_l2);
  }
  std::printf("\ntargets:\n");
  for (const auto& t : targets) {
    std::printf("  %-36s %8.3f  goal %s %.2f  %s\n", t["target"].get<std::string>().c_str(),
                t["value"].get<double>(), t["target"].get<std::string>().find("bits") !=
                std::string::npos ? "<=" : ">=", t["goal"].get<double>(),
                t["met"].get<bool>() ? "met" : "NOT MET");
  }
  return 0;
}

}  // namespace
}  // namespace tern::cli

TERN_COMMAND(BenchCodec, "bench codec") {
  auto o = std::make_shared<tern::cli::Options>();
  CLI::App* cmd = tern::cli::AddCommand(
      root, {"bench", "codec"},
      "Codec bits/element, ratio, encode/decode GB/s and error vs memcpy, single thread",
      [o] { return tern::cli::Run(*o); });
  cmd->add_option("--elements", o->elements, "fp32 elements (default 16M)");
  cmd->add_option("--reps", o->reps, "repetitions per measurement (median reported)");
  cmd->add_option("--spec", o->specs, "codec spec to measure (repeatable; default: all)");
  cmd->add_option("--clock", o->clock,
                  "wall (default) or cpu: this thread's CPU time, for a shared machine");
  cmd->add_flag("--json", o->json, "print JSON");
}
