// Constants of the control plane's use of the wire format
// (docs/membership_protocol.md): handshake channels, frame types, bounds.
#ifndef TERN_MEMBERSHIP_FRAMES_H_
#define TERN_MEMBERSHIP_FRAMES_H_

#include <cstddef>
#include <cstdint>

#include "wire/frame.h"

namespace tern::membership {

// Hello.channel values (wire::Channel::kCollective is 0).
inline constexpr uint16_t kMasterChannel = 1;  // peer -> master
inline constexpr uint16_t kStateChannel = 2;   // peer -> peer: state fetches
inline constexpr uint16_t kProbeChannel = 3;   // peer -> peer: bandwidth probes

// The master's id in Hellos (peers are numbered from 1).
inline constexpr uint64_t kMasterPeerId = 0;

// Frame types (>= wire::kFirstControlPlaneType). Never renumber.
enum class CpFrame : uint16_t {
  kPeerToMaster = 256,  // proto PeerToMaster
  kMasterToPeer = 257,  // proto MasterToPeer
  kFetchRequest = 258,  // proto FetchRequest (state channel)
  kFetchHeader = 259,   // proto FetchHeader
  kFetchData = 260,     // raw entry bytes
  kProbeData = 261,     // raw filler bytes
  kProbeAck = 262,      // proto ProbeAck
};

inline constexpr uint16_t FrameCode(CpFrame f) { return static_cast<uint16_t>(f); }

// The largest control message (a SyncRequest with kMaxEntries names is the
// biggest legitimate one). Checked before anything is buffered.
inline constexpr uint32_t kMaxControlMessage = uint32_t{24} << 20;
// The largest data frame on state and probe channels.
inline constexpr uint32_t kMaxDataFrame = uint32_t{4} << 20;
// Deadline of one handshake on the master (a silent client is cut off).
inline constexpr int64_t kHandshakeMillis = 5000;

}  // namespace tern::membership

#endif  // TERN_MEMBERSHIP_FRAMES_H_
