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
  auto [ctrl_a, ctrl_b] = net::FakeConnPair(64, "rank0", "fuzzer");
  // Room for the fuzzer's bytes one way and rank 0's frames (< 16 KiB) the other.
  auto [data_a, data_b] = net::FakeConnPair(size + (16 << 10), "rank0", "fuzzer");
  // The fuzzer's bytes wait in rank 0's data stream; nothing else comes.
  iovec iov{const_cast<uint8_t*>(data), size};
  if (!data_b->WriteSome(&iov, 1).ok()) std::abort();

  std::vector<PeerConns> peers(2);
  peers[0].peer_id = 1;
  peers[1].peer_id = 2;
  peers[1].control = ctrl_a.get();
  peers[1].data = {data_a.get()};
  Engine e;
  e.Reset(0, peers, /*checksums=*/size % 2 == 1);  // even sizes: unchecked frames
  std::vector<float> buf(kN);
  for (size_t i = 0; i < kN; ++i) buf[i] = static_cast<float>(i);
  const std::vector<float> before = buf;
  std::vector<uint8_t> work(kN * 4), backup(kN * 4);
  const Plan plan = EvenPlan(kN, 2, 4, 1024);
  // An expired deadline: the engine processes what is buffered, then stops.
  e.Begin(0, 0, 1024, Deadline::AfterMillis(0), nullptr);
  RingArgs a{&plan, true, true, DType::kF32, ReduceOp::kSum,
             reinterpret_cast<uint8_t*>(buf.data()), work.data(), backup.data()};
  Status s = RunRing(e, a);
  if (!s.ok() && buf != before) std::abort();  // a failed call restores the buffer
  (void)ctrl_b;
  return 0;
}
