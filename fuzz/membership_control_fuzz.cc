// Fuzzes the master's state machine with arbitrary message sequences from
// arbitrary connections (what an authenticated but hostile or buggy peer
// could send), plus closes and the passage of time. The master must never
// crash and must keep its invariants: members unique, a committed revision
// only if every member adopted it.
//
// Input: repeated records { u8 conn, u8 op, u16 len, len bytes }.
//   op % 4 == 0..1: the bytes are a PeerToMaster from `conn`
//   op % 4 == 2:    `conn` closed
//   op % 4 == 3:    time advances by len ms
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>

#include "membership/master_core.h"

using tern::membership::MasterCore;
using tern::membership::MasterCoreOptions;
using tern::membership::Outbox;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  MasterCoreOptions o;
  o.min_peers = 2;
  o.recovery_window_ms = (size > 0 && data[0] & 1) ? 3000 : 0;
  std::optional<tern::membership::proto::MasterState> loaded;
  if (size > 0 && data[0] & 2) {
    loaded.emplace();
    loaded->set_revision(5);
    loaded->set_committed(true);
    loaded->set_next_peer_id(9);
    loaded->add_members()->set_peer_id(3);
    loaded->add_members()->set_peer_id(7);
  }
  int64_t now = 1000;
  MasterCore core(o, loaded, now);
  size_t at = size > 0 ? 1 : 0;
  while (at + 4 <= size) {
    const uint64_t conn = data[at] % 8 + 1;
    const uint8_t op = data[at + 1];
    const size_t len = data[at + 2] | (size_t{data[at + 3]} << 8);
    at += 4;
    const size_t take = len < size - at ? len : size - at;
    Outbox out;
    switch (op % 4) {
      case 0:
      case 1: {
        tern::membership::proto::PeerToMaster m;
        if (m.ParseFromArray(data + at, static_cast<int>(take))) core.OnMessage(conn, m, now, &out);
        break;
      }
      case 2: core.OnClosed(conn, now, &out); break;
      case 3: now += static_cast<int64_t>(len); break;
    }
    at += op % 4 == 3 ? 0 : take;
    core.OnTick(now, &out);
    const tern::MasterSnapshot s = core.Snapshot();
    std::set<uint64_t> ids;
    for (const tern::PeerInfo& p : s.members) {
      if (!ids.insert(p.peer_id).second) std::abort();  // a member twice
      if (p.peer_id >= s.next_peer_id) std::abort();    // an id not yet handed out
    }
  }
  return 0;
}
