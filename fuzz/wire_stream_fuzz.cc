// Arbitrary bytes arriving on the data stream of a ring all-reduce: the
// engine must parse, bound and place them without crashing or writing out
// of bounds, fail with a status, and leave the caller's buffer as it was.
// The second rank is played by the fuzzer through an in-memory transport.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "collective/algorithms.h"
#include "collective/engine.h"
#include "net/fake.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tern;
  using namespace tern::collective;
  constexpr size_t kN = 1000;
  auto [ctrl_a, ctrl_b] = net::FakeConnPair(1 << 16, "rank0", "fuzzer");
  auto [data_a, data_b] = net::FakeConnPair(1 << 20, "rank0", "fuzzer");
  // The fuzzer's bytes are waiting in rank 0's data stream, then it hangs up.
  iovec iov{const_cast<uint8_t*>(data), size};
  if (!data_b->WriteSome(&iov, 1).ok()) std::abort();
  data_b->Close();
  ctrl_b->Close();

  std::vector<PeerConns> peers(2);
  peers[0].peer_id = 1;
  peers[1].peer_id = 2;
  peers[1].control = ctrl_a.get();
  peers[1].data = {data_a.get()};
  Engine e;
  e.Reset(0, peers, /*checksums=*/size % 2 == 0);
  std::vector<float> buf(kN);
  for (size_t i = 0; i < kN; ++i) buf[i] = static_cast<float>(i);
  const std::vector<float> before = buf;
  std::vector<uint8_t> work(kN * 4), backup(kN * 4);
  const Plan plan = EvenPlan(kN, 2, 4, 1024);
  e.Begin(0, 0, 1024, Deadline::AfterMillis(1000), nullptr);
  RingArgs a{&plan, true, true, DType::kF32, ReduceOp::kSum,
             reinterpret_cast<uint8_t*>(buf.data()), work.data(), backup.data()};
  Status s = RunRing(e, a);
  if (!s.ok() && buf != before) std::abort();  // a failed call restores the buffer
  return 0;
}
