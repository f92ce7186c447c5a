// All-reduce over real processes and loopback TCP, checked against a scalar
// reference on every rank and for bit parity across ranks (xxh3 of each
// rank's output). Parameterized over world size and element count; each
// spawn runs every dtype x op x algorithm and several codecs.
#include <gtest/gtest.h>

#include <cstring>
#include <sstream>

#include "collective/plan.h"
#include "spawn_ranks.h"
#include "tern/codec.h"
#include "util/hash.h"
#include "util/philox.h"

namespace tern {
namespace {

using testing::RankOutcome;
using testing::SpawnRanks;

constexpr size_t kChunkBytes = 64 << 10;  // several chunks per segment at 1 MiB

// Integers in [-15, 15]: exact in fp16/bf16 and in any summation order.
float IntInput(int rank, size_t i) {
  return static_cast<float>(static_cast<int>((i * 7 + static_cast<size_t>(rank) * 13) % 31) - 15);
}

uint16_t ToHalf(DType dt, float v) { return dt == DType::kF16 ? FloatToHalf(v) : FloatToBF16(v); }
float FromHalf(DType dt, uint16_t h) { return dt == DType::kF16 ? HalfToFloat(h) : BF16ToFloat(h); }

float Reference(ReduceOp op, int n, size_t i) {
  float acc = IntInput(0, i);
  for (int q = 1; q < n; ++q) {
    const float v = IntInput(q, i);
    acc = op == ReduceOp::kMin ? std::min(acc, v) : op == ReduceOp::kMax ? std::max(acc, v) : acc + v;
  }
  return op == ReduceOp::kAvg ? acc / static_cast<float>(n) : acc;
}

// One uncompressed case; returns "" or a description of the first mismatch.
Result<std::string> UncompressedCase(Communicator& comm, int r, size_t numel, DType dt,
                                     ReduceOp op, Algorithm algo, Xxh3Hasher& parity) {
  const int n = comm.size();
  std::vector<uint8_t> buf(numel * DTypeSize(dt));
  for (size_t i = 0; i < numel; ++i) {
    const float v = IntInput(r, i);
    if (dt == DType::kF32) {
      std::memcpy(buf.data() + 4 * i, &v, 4);
    } else {
      const uint16_t h = ToHalf(dt, v);
      std::memcpy(buf.data() + 2 * i, &h, 2);
    }
  }
  TERN_RETURN_IF_ERROR(comm.AllReduce(TensorView(buf.data(), dt, Shape::Flat(static_cast<int64_t>(numel))),
                                      {.op = op, .algorithm = algo}));
  parity.Update(buf.data(), buf.size());
  for (size_t i = 0; i < numel; ++i) {
    float got, want = Reference(op, n, i);
    if (dt == DType::kF32) {
      std::memcpy(&got, buf.data() + 4 * i, 4);
    } else {
      uint16_t h;
      std::memcpy(&h, buf.data() + 2 * i, 2);
      got = FromHalf(dt, h);
      want = FromHalf(dt, ToHalf(dt, want));
    }
    if (got != want) {
      std::ostringstream s;
      s << "MISMATCH dtype " << DTypeName(dt) << " op " << static_cast<int>(op) << " algo "
        << static_cast<int>(algo) << " at " << i << ": got " << got << " want " << want << "\n";
      return s.str();
    }
  }
  return std::string();
}

std::vector<float> RandomInput(int rank, size_t numel) {
  RngStream rng(99, RngPurpose::kTest, static_cast<uint64_t>(rank));
  std::vector<float> v(numel);
  for (float& x : v) x = rng.UniformFloat() * 2.f - 1.f;
  return v;
}

// The compressed all-reduce of DESIGN.md semantic 3, computed in one process.
Result<std::vector<float>> CompressedReference(const Codec& codec, int n, size_t numel, bool avg) {
  const collective::Plan plan = collective::EvenPlan(numel, n, sizeof(float), kChunkBytes);
  std::vector<std::vector<float>> x;
  for (int q = 0; q < n; ++q) x.push_back(RandomInput(q, numel));
  std::vector<float> out(numel);
  for (int j = 0; j < n; ++j) {
    for (int c = 0; c < plan.chunks; ++c) {
      const Segment ch = plan.Chunk(j, c);
      std::vector<float> acc(ch.count, 0.f);
      std::string payload;
      for (int q = 0; q < n; ++q) {
        const CodecContext ctx{.seed = 5, .step = 3, .tensor_id = 8, .offset = ch.begin,
                               .peer_id = static_cast<uint64_t>(q + 1)};
        payload.clear();
        TERN_RETURN_IF_ERROR(codec.Encode({x[q].data() + ch.begin, ch.count}, ctx, &payload));
        TERN_RETURN_IF_ERROR(codec.DecodeAdd(payload, ctx, acc));
      }
      if (avg)
        for (float& v : acc) v = v / static_cast<float>(n);
      const CodecContext ctx{.seed = 5, .step = 3, .tensor_id = 8, .offset = ch.begin,
                             .peer_id = static_cast<uint64_t>(j + 1)};
      payload.clear();
      TERN_RETURN_IF_ERROR(codec.Encode(acc, ctx, &payload));
      TERN_RETURN_IF_ERROR(codec.Decode(payload, ctx, {out.data() + ch.begin, ch.count}));
    }
  }
  return out;
}

Result<std::string> CompressedCase(Communicator& comm, int r, size_t numel, const std::string& spec,
                                   ReduceOp op, Xxh3Hasher& parity) {
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<Codec> codec, Codec::Create(spec));
  std::vector<float> buf = RandomInput(r, numel);
  TERN_RETURN_IF_ERROR(comm.AllReduce(TensorView::Of(buf),
                                      {.op = op, .codec = codec.get(),
                                       .codec_context = {.seed = 5, .step = 3, .tensor_id = 8}}));
  parity.Update(buf.data(), buf.size() * sizeof(float));
  TERN_ASSIGN_OR_RETURN(std::vector<float> want,
                        CompressedReference(*codec, comm.size(), numel, op == ReduceOp::kAvg));
  if (std::memcmp(want.data(), buf.data(), numel * sizeof(float)) != 0) {
    return "MISMATCH codec " + spec + "\n";
  }
  return std::string();
}

Result<std::string> AllCases(Communicator& comm, int r, size_t numel, bool full) {
  Xxh3Hasher parity;
  std::string problems;
  const std::vector<DType> dtypes = {DType::kF32, DType::kF16, DType::kBF16};
  const std::vector<ReduceOp> ops = {ReduceOp::kSum, ReduceOp::kAvg, ReduceOp::kMin, ReduceOp::kMax};
  const std::vector<Algorithm> algos = {Algorithm::kAuto, Algorithm::kRing,
                                        Algorithm::kRecursiveDoubling,
                                        Algorithm::kHalvingDoubling};
  for (DType dt : dtypes) {
    for (ReduceOp op : ops) {
      for (Algorithm a : algos) {
        if (!full && dt != DType::kF32 && a != Algorithm::kAuto) continue;
        TERN_ASSIGN_OR_RETURN(std::string p, UncompressedCase(comm, r, numel, dt, op, a, parity));
        problems += p;
      }
    }
  }
  std::vector<std::string> codecs = {"int8:block=256", "fp4"};
  if (full) codecs.insert(codecs.end(), {"randk:density=0.25", "topk:density=0.1|rice", "qsgd"});
  for (const std::string& spec : codecs) {
    for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kAvg}) {
      TERN_ASSIGN_OR_RETURN(std::string p, CompressedCase(comm, r, numel, spec, op, parity));
      problems += p;
    }
  }
  return problems + "parity " + std::to_string(parity.Digest());
}

struct Param {
  int world;
  size_t numel;
  bool full;
};

class AllReduceProcessesTest : public ::testing::TestWithParam<Param> {};

TEST_P(AllReduceProcessesTest, MatchesReferenceWithBitParityAcrossRanks) {
  const Param p = GetParam();
  testing::SpawnOptions o;
  o.communicator.chunk_bytes = kChunkBytes;
  std::vector<RankOutcome> out = SpawnRanks(
      p.world,
      [&](int r, Communicator& comm, StaticWorld&) { return AllCases(comm, r, p.numel, p.full); },
      o);
  ASSERT_EQ(out.size(), static_cast<size_t>(p.world));
  for (int r = 0; r < p.world; ++r) {
    EXPECT_EQ(out[r].exit_code, 0) << "rank " << r << ": " << out[r].output;
    EXPECT_EQ(out[r].output.find("MISMATCH"), std::string::npos) << out[r].output;
    EXPECT_EQ(out[r].output, out[0].output) << "rank " << r << " differs from rank 0";
  }
}

std::string Name(const ::testing::TestParamInfo<Param>& info) {
  return "world" + std::to_string(info.param.world) + "_numel" + std::to_string(info.param.numel);
}

#ifndef TERN_SWEEP
// The default run: every world size at small sizes, and 1 MiB + 3 at 2 and 4.
INSTANTIATE_TEST_SUITE_P(Default, AllReduceProcessesTest,
                         ::testing::Values(Param{1, 1023, false}, Param{2, 0, false},
                                           Param{2, 1, false}, Param{3, 1023, false},
                                           Param{4, 1, false}, Param{8, 1023, false},
                                           Param{2, (1 << 20) + 3, false},
                                           Param{4, (1 << 20) + 3, false}),
                         Name);
#endif

}  // namespace

#ifdef TERN_SWEEP
// The full sweep (label `slow`): {1,2,3,4,8} x {0, 1, 1023, 1 MiB + 3}, every
// dtype x op x algorithm, five codecs.
std::vector<Param> FullSweep() {
  std::vector<Param> v;
  for (int w : {1, 2, 3, 4, 8})
    for (size_t n : {size_t{0}, size_t{1}, size_t{1023}, size_t{(1 << 20) + 3}}) v.push_back({w, n, true});
  return v;
}
INSTANTIATE_TEST_SUITE_P(Sweep, AllReduceProcessesTest, ::testing::ValuesIn(FullSweep()), Name);
#endif

}  // namespace tern
