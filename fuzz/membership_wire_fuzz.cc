// Fuzzes the control plane's decoders of untrusted bytes: the framing of a
// control connection (FramedConn over an in-memory connection), the
// persisted master state, and the protobuf messages peers exchange with
// their validation (shared-state entry lists).
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "membership/framed_conn.h"
#include "membership/master_store.h"
#include "membership/proto/control.pb.h"
#include "membership/proto/state.pb.h"
#include "membership/sync_round.h"
#include "net/fake.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  tern::membership::DecodeMasterState(bytes).status().IgnoreError();

  auto [a, b] = tern::net::FakeConnPair(4096, "fuzz", "master");
  tern::membership::FramedConn conn(std::move(b), 1 << 20);
  size_t at = 0;
  while (at < size) {
    iovec iov{const_cast<uint8_t*>(data) + at, size - at};
    auto n = a->WriteSome(&iov, 1);
    if (!n.ok() || *n == 0) break;
    at += *n;
    if (!conn.Pump().ok()) break;
    while (auto f = conn.TakeFrame()) {
      tern::membership::proto::PeerToMaster m;
      if (m.ParseFromString(f->payload) && m.has_sync_request()) {
        tern::membership::ValidateEntries(m.sync_request().entries()).IgnoreError();
      }
      tern::membership::proto::FetchRequest fr;
      fr.ParseFromString(f->payload);
      tern::membership::proto::MasterToPeer mp;
      mp.ParseFromString(f->payload);
    }
  }
  return 0;
}
