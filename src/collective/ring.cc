#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "collective/algorithms.h"
#include "collective/reduce.h"

namespace tern::collective {
namespace {

// Chunks of the in-place first step queued per stream ahead of the kernel.
constexpr int kFirstStepDepth = 2;

class Ring : public Engine::Handler {
 public:
  Ring(Engine& e, const RingArgs& a)
      : e_(e), a_(a), plan_(*a.plan), n_(e.size()), r_(e.rank()),
        left_((r_ + n_ - 1) % n_), right_((r_ + 1) % n_), k_(e.streams()) {}

  Status Start() {
    const int steps = n_ - 1, chunks = plan_.chunks;
    seen_.assign(static_cast<size_t>(2 * steps * chunks), 0);
    if (in_place()) dirty_.assign(static_cast<size_t>(n_ * chunks), 0);
    const int phases = (a_.reduce_scatter ? 1 : 0) + (a_.all_gather ? 1 : 0);
    for (int s = 0; s < k_; ++s) e_.Expect(left_, s, phases * steps * FramesOnStream(chunks, k_, s));
    if (a_.reduce_scatter && in_place()) {
      // A few chunks per stream now, the next one each time a stream has
      // handed one to the kernel (Sent): the first bytes leave at once.
      for (int c = 0; c < std::min(chunks, kFirstStepDepth * k_); ++c) SendFirstStepInPlace(c);
      return OkStatus();
    }
    for (int c = 0; c < chunks; ++c) {
      if (a_.reduce_scatter) {
        SendChunk(kPhaseReduceScatter, 0, Mod(r_ - 1), c, a_.input);
      } else {
        SendChunk(kPhaseAllGather, 0, r_, c, a_.work);
      }
    }
    return OkStatus();
  }

  Status Sent(int, const wire::DataHeader& h) override {
    const int next = static_cast<int>(h.chunk) + kFirstStepDepth * k_;
    if (h.phase == kPhaseReduceScatter && h.step == 0 && next < plan_.chunks) {
      SendFirstStepInPlace(next);
    }
    return OkStatus();
  }

  Result<uint8_t*> Place(int peer, const wire::DataHeader& h, size_t bytes) override {
    const bool rs = h.phase == kPhaseReduceScatter;
    if (peer != left_ || (!rs && h.phase != kPhaseAllGather) || (rs && !a_.reduce_scatter) ||
        (!rs && !a_.all_gather) || h.step >= n_ - 1 || h.chunk >= static_cast<uint32_t>(plan_.chunks)) {
      return DataLossError("ring: unexpected frame (phase " + std::to_string(h.phase) + ", step " +
                           std::to_string(h.step) + ") from rank " + std::to_string(peer));
    }
    uint8_t& seen = seen_[static_cast<size_t>(((rs ? 0 : 1) * (n_ - 1) + h.step) * plan_.chunks +
                                              static_cast<int>(h.chunk))];
    const Segment ch = plan_.Chunk(RecvSegment(h), static_cast<int>(h.chunk));
    if (seen || bytes != ch.count * plan_.elem) {
      return DataLossError("ring: duplicate or mis-sized chunk from rank " + std::to_string(peer));
    }
    seen = 1;
    if (!rs && in_place()) {
      dirty_[static_cast<size_t>(RecvSegment(h) * plan_.chunks + static_cast<int>(h.chunk))] = 1;
      return Output() + ch.begin * plan_.elem;
    }
    return a_.work + ch.begin * plan_.elem;
  }

  // Puts back every chunk of the caller's buffer that was overwritten.
  void Restore() {
    if (!in_place()) return;
    for (int seg = 0; seg < n_; ++seg) {
      for (int c = 0; c < plan_.chunks; ++c) {
        if (!dirty_[static_cast<size_t>(seg * plan_.chunks + c)]) continue;
        const Segment ch = plan_.Chunk(seg, c);
        std::memcpy(Output() + ch.begin * plan_.elem, a_.backup + ch.begin * plan_.elem,
                    ch.count * plan_.elem);
      }
    }
  }

  Status Received(int, const wire::DataHeader& h, uint8_t* data, size_t) override {
    const int c = static_cast<int>(h.chunk), seg = RecvSegment(h);
    if (h.phase == kPhaseAllGather) {
      if (h.step + 1 < n_ - 1) SendChunk(kPhaseAllGather, h.step + 1, seg, c, Output());
      return OkStatus();
    }
    const Segment ch = plan_.Chunk(seg, c);
    const size_t off = ch.begin * plan_.elem, bytes = ch.count * plan_.elem;
    const bool last = h.step + 1 == n_ - 1;  // then seg == r_: this rank owns the chunk
    uint8_t* dst = last && in_place() ? Output() + off : data;
    // The chunk goes on (next step, or the all-gather) checksummed by the
    // reduction that writes it.
    const uint8_t next_phase = last ? kPhaseAllGather : kPhaseReduceScatter;
    const int next_step = last ? 0 : h.step + 1;
    const bool forward = !last || a_.all_gather;
    std::optional<uint32_t> crc;
    if (forward) crc = e_.CrcSeed(next_phase, static_cast<uint16_t>(next_step), h.chunk, bytes);
    const int divide = last && a_.op == ReduceOp::kAvg ? n_ : 1;
    if (last && in_place()) dirty_[static_cast<size_t>(seg * plan_.chunks + c)] = 1;
    CombineChunk(a_.dtype, a_.op, dst, data, a_.input + off, ch.count,
                 in_place() ? a_.backup + off : nullptr, divide, crc ? &*crc : nullptr);
    if (forward) SendChunk(next_phase, next_step, seg, c, last ? Output() : a_.work, crc);
    return OkStatus();
  }

 private:
  bool in_place() const { return a_.backup != nullptr; }
  // Where finished chunks go: the caller's buffer in place, else work.
  uint8_t* Output() const { return in_place() ? const_cast<uint8_t*>(a_.input) : a_.work; }
  int Mod(int x) const { return ((x % n_) + n_) % n_; }
  int RecvSegment(const wire::DataHeader& h) const {
    return h.phase == kPhaseReduceScatter ? Mod(r_ - h.step - 2) : Mod(r_ - h.step - 1);
  }
  void SendChunk(uint8_t phase, int step, int seg, int c, const uint8_t* base,
                 std::optional<uint32_t> crc = std::nullopt, bool notify = false) {
    const Segment ch = plan_.Chunk(seg, c);
    e_.Send(right_, StreamOf(c, k_), phase, static_cast<uint16_t>(step), static_cast<uint32_t>(c),
            base + ch.begin * plan_.elem, ch.count * plan_.elem, notify, crc);
  }
  // Chunk c of segment r-1 leaves first, straight from the caller's buffer;
  // it is saved (and checksummed, in the same read) just before, because
  // the all-gather overwrites it there. That happens only after the kernel
  // copied it: the reduced chunk comes back only once every rank, this
  // rank's successor first, received this one.
  void SendFirstStepInPlace(int c) {
    const Segment ch = plan_.Chunk(Mod(r_ - 1), c);
    const size_t off = ch.begin * plan_.elem, bytes = ch.count * plan_.elem;
    std::optional<uint32_t> crc = e_.CrcSeed(kPhaseReduceScatter, 0, static_cast<uint32_t>(c), bytes);
    StreamCopyWithCrc(a_.backup + off, a_.input + off, bytes, crc ? &*crc : nullptr);
    SendChunk(kPhaseReduceScatter, 0, Mod(r_ - 1), c, a_.input, crc, /*notify=*/true);
  }

  Engine& e_;
  const RingArgs& a_;
  const Plan& plan_;
  const int n_, r_, left_, right_, k_;
  std::vector<uint8_t> seen_;
  std::vector<uint8_t> dirty_;  // (segment, chunk) of the caller's buffer overwritten
};

}  // namespace

Status RunRing(Engine& e, const RingArgs& a) {
  if (e.size() == 1) return OkStatus();  // the caller's copy is the result
  Ring ring(e, a);
  Status s = ring.Start();
  if (s.ok()) s = e.Run(ring);
  if (!s.ok()) ring.Restore();
  return s;
}

}  // namespace tern::collective
