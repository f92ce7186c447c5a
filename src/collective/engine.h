// Engine: moves the frames of one collective over a set of peer links and
// calls back into the algorithm as frames arrive. Single-threaded and
// non-blocking: one poll(2) loop drives every stream of every peer, so
// sending, receiving and reducing overlap (full duplex, pipelined chunks)
// without extra threads.
//
// Words used below:
//   peer     a rank of the communicator (not this process)
//   stream   one of a peer link's K data connections (0-based here; the
//            wire numbers them 1..K because 0 is the control stream)
//   frame    wire::FrameHeader + wire::DataHeader + payload
//   expected how many frames the algorithm will receive per (peer, stream);
//            the engine reads a stream only while it expects frames there,
//            so frames of the next operation stay in the socket.
//
// An operation: Begin(); Expect() and Send() the initial frames; Run().
// During Run the Handler places incoming frames (Place), consumes them
// (Received: reduce, forward with Send, ...), and may do CPU work while the
// network is busy (Idle). Sent data must stay valid until Run returns or
// the handler is told it was sent (Sent).
//
// Failures: a closed stream, a bad frame, a frame of another operation, an
// Abort on a control stream, the deadline, or a newer world revision end
// Run with a status and `culprit()` (the rank blamed, or -1). AbortAll()
// then tells every peer (Abort frame on its control stream) and closes all
// links: the links of a failed operation are never reused.
//
// Thread-compatible: one operation at a time; no allocation per frame.
#ifndef TERN_COLLECTIVE_ENGINE_H_
#define TERN_COLLECTIVE_ENGINE_H_

#include <poll.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "net/blocking.h"
#include "net/conn.h"
#include "tern/status.h"
#include "util/clock.h"
#include "wire/frame.h"
#include "wire/messages.h"

namespace tern::collective {

// The connections to one peer; `data` empty for this process's own rank.
struct PeerConns {
  uint64_t peer_id = 0;
  net::Conn* control = nullptr;
  std::vector<net::Conn*> data;
};

class Engine {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // Where the payload of a frame from `peer` goes (exactly `bytes` long).
    // kDataLoss for a frame the algorithm does not expect.
    virtual Result<uint8_t*> Place(int peer, const wire::DataHeader& h, size_t bytes) = 0;
    // The payload arrived and passed its checksum.
    virtual Status Received(int peer, const wire::DataHeader& h, uint8_t* data, size_t bytes) = 0;
    // A frame queued with notify=true was handed to the kernel.
    virtual Status Sent(int /*peer*/, const wire::DataHeader& /*h*/) { return OkStatus(); }
    // Called when no I/O can progress; returns true if it did some work
    // (the engine then polls without waiting).
    virtual Result<bool> Idle() { return false; }
    // Run returns only once this is true (work beyond frames, e.g. encoding
    // with no peer at all).
    virtual bool Finished() const { return true; }
  };

  // Checked between polls: returns a status to stop the operation (e.g.
  // kAborted when the master announced a newer revision).
  using Interrupt = std::function<Status()>;

  Engine();
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Receive on a helper thread (for large operations): the kernel's copies
  // and the checksums of incoming frames then overlap sending and reducing
  // on the calling thread, which keeps running every Handler callback but
  // Place. Place then runs on the helper thread, concurrently with the
  // others, so it may only touch state they do not (true of every
  // algorithm here). Needs Conns whose Poll descriptors can be polled per
  // direction from two threads (TCP, not the in-memory fake).
  void set_receive_thread(bool on) { threaded_ = on; }

  // Adopts the links of a revision (pointers stay owned by the caller).
  void Reset(int rank, std::vector<PeerConns> peers, bool checksums);
  int rank() const { return rank_; }
  int size() const { return static_cast<int>(peers_.size()); }
  int streams() const { return streams_; }

  // Starts an operation. Frames carry (seq, signature); received frames
  // must match both (another signature: kInvalidArgument).
  void Begin(uint64_t seq, uint32_t signature, size_t max_payload, Deadline deadline,
             Interrupt interrupt);
  void Expect(int peer, int stream, int frames);
  // Queues a frame (phase, step, chunk) with `bytes` of `data`. Its crc32c
  // is computed just before its first byte is written (so the kernel's copy
  // finds the data in cache), unless the caller passes `crc`: CrcSeed() of
  // the same frame extended with Crc32c over `data`, computed while the
  // data was hot (fused with the reduction or copy that produced it).
  void Send(int peer, int stream, uint8_t phase, uint16_t step, uint32_t chunk, const void* data,
            size_t bytes, bool notify = false, std::optional<uint32_t> crc = std::nullopt);
  // The checksum of a frame's header and DataHeader, to extend over its
  // payload; nullopt when data frames carry no checksums.
  std::optional<uint32_t> CrcSeed(uint8_t phase, uint16_t step, uint32_t chunk, size_t bytes) const;
  // Drives I/O until every expected frame arrived and every queued frame is
  // written. Blocks (bounded by the deadline).
  Status Run(Handler& handler);

  // After a failed Run: the rank blamed, or -1.
  int culprit() const { return culprit_; }
  // Best effort: an Abort(status, culprit peer id) on every control stream,
  // then closes every connection. Does not block.
  void AbortAll(const Status& status, uint64_t culprit_peer);

  uint64_t bytes_sent() const { return bytes_sent_; }
  uint64_t bytes_received() const { return bytes_received_; }

 private:
  struct SendItem {
    uint8_t prefix[wire::kFrameHeaderSize + wire::kDataHeaderSize];
    const uint8_t* data;
    size_t bytes;
    size_t done;  // of prefix + data
    bool notify;
    bool crc_pending;  // the header's crc is computed before the first write
  };
  struct Stream {
    net::Conn* conn = nullptr;
    int peer = -1;
    std::vector<SendItem> sends;
    size_t send_head = 0;
    int expected = 0;
    bool can_read = true, can_write = true;
    // Receive state: reading the prefix, then the payload into `dest`.
    uint8_t prefix[wire::kFrameHeaderSize + wire::kDataHeaderSize];
    size_t prefix_got = 0;
    wire::FrameHeader frame;
    wire::DataHeader header;
    uint8_t* dest = nullptr;
    size_t payload = 0, payload_got = 0;
    bool in_payload = false;
    // The frame's crc32c so far, extended as each read lands (the bytes are
    // still in cache), and whether the frame carries one.
    uint32_t crc = 0;
    bool check_crc = false;
  };

  Stream& At(int peer, int stream) { return streams_of_[peer * streams_ + stream]; }
  void EncodePrefix(uint8_t phase, uint16_t step, uint32_t chunk, size_t bytes,
                    uint8_t* prefix) const;
  Result<bool> PumpSend(Stream& s, Handler& h);
  class Receiver;
  // With `rx`, completed frames and read errors go to the receive thread's
  // queue instead of the handler.
  Result<bool> PumpRecv(Stream& s, Handler& h, Receiver* rx = nullptr);
  Status StartPayload(Stream& s, Handler& h);
  Status FinishFrame(Stream& s, Handler& h, Receiver* rx);
  Status RunThreaded(Handler& h);
  static Status ReceiverPush(Receiver& rx, int peer, const wire::DataHeader& h, uint8_t* data,
                             size_t bytes);
  Status WaitThreaded(bool receiver_idle);
  Status Checks();
  // A deadline failure names the first rank still owing or owed frames.
  Status BlameLaggard(Status st);
  Status Wait(Handler& h);
  // A control stream is readable: an Abort fails the operation; a plain
  // close does not (the peer may have finished and left), but the stream
  // is no longer polled. Data streams tell whether we still needed it.
  Status ControlReadable(int peer);
  // A data stream of `peer` failed with `cause`; an Abort on its control
  // stream (already read: `frame`) explains why.
  Status PeerFailed(int peer, Status cause, const net::Frame* frame = nullptr);
  bool Done(const Handler& h) const;

  int rank_ = 0;
  int streams_ = 0;
  bool checksums_ = true;
  std::vector<PeerConns> peers_;
  std::vector<bool> control_closed_;
  std::vector<Stream> streams_of_;  // peer-major
  uint64_t seq_ = 0;
  uint32_t signature_ = 0;
  size_t max_payload_ = 0;
  Deadline deadline_ = Deadline::Infinite();
  Interrupt interrupt_;
  int64_t last_check_ns_ = 0;
  int culprit_ = -1;
  int rx_culprit_ = -1;  // the receive thread's culprit, handed over with its failure
  int pending_frames_ = 0;  // expected frames not yet fully received
  size_t pending_sends_ = 0;
  uint64_t bytes_sent_ = 0, bytes_received_ = 0;
  std::vector<::pollfd> pollfds_;
  std::vector<int> poll_streams_;
  bool threaded_ = false;
  std::unique_ptr<Receiver> receiver_;
};

}  // namespace tern::collective

#endif  // TERN_COLLECTIVE_ENGINE_H_
