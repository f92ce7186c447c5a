#include <cstring>
#include <vector>

#include "collective/algorithms.h"
#include "collective/reduce.h"

namespace tern::collective {
namespace {

class Ring : public Engine::Handler {
 public:
  Ring(Engine& e, const RingArgs& a)
      : e_(e), a_(a), plan_(*a.plan), n_(e.size()), r_(e.rank()),
        left_((r_ + n_ - 1) % n_), right_((r_ + 1) % n_), k_(e.streams()) {}

  Status Start() {
    const int steps = n_ - 1, chunks = plan_.chunks;
    seen_.assign(static_cast<size_t>(2 * steps * chunks), 0);
    if (in_place()) {
      // Segment r-1 is only sent, never reduced here, before the all-gather
      // overwrites it: save it now.
      dirty_.assign(static_cast<size_t>(n_ * chunks), 0);
      const Segment seg = plan_.segments[static_cast<size_t>(Mod(r_ - 1))];
      StreamCopy(a_.backup + seg.begin * plan_.elem, a_.input + seg.begin * plan_.elem,
                 seg.count * plan_.elem);
    }
    const int phases = (a_.reduce_scatter ? 1 : 0) + (a_.all_gather ? 1 : 0);
    for (int s = 0; s < k_; ++s) e_.Expect(left_, s, phases * steps * FramesOnStream(chunks, k_, s));
    for (int c = 0; c < chunks; ++c) {
      if (a_.reduce_scatter) {
        // In place, segment r-1 goes out from its saved copy: the
        // all-gather will write the caller's buffer there, possibly while
        // a gathered send of the same frames is still inside sendmsg.
        SendChunk(kPhaseReduceScatter, 0, Mod(r_ - 1), c, in_place() ? a_.backup : a_.input);
      } else {
        SendChunk(kPhaseAllGather, 0, r_, c, a_.work);
      }
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
    const size_t off = ch.begin * plan_.elem;
    const bool last = h.step + 1 == n_ - 1;  // then seg == r_: this rank owns the chunk
    uint8_t* dst = last && in_place() ? Output() + off : data;
    if (in_place()) {
      CombineAndSave(a_.dtype, a_.op, dst, data, a_.input + off, a_.backup + off, ch.count);
      if (last) dirty_[static_cast<size_t>(seg * plan_.chunks + c)] = 1;
    } else {
      Combine(a_.dtype, a_.op, dst, data, a_.input + off, ch.count);
    }
    if (!last) {
      SendChunk(kPhaseReduceScatter, h.step + 1, seg, c, a_.work);
    } else {
      if (a_.op == ReduceOp::kAvg) DivideBy(a_.dtype, dst, ch.count, n_);
      if (a_.all_gather) SendChunk(kPhaseAllGather, 0, seg, c, Output());
    }
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
  void SendChunk(uint8_t phase, int step, int seg, int c, const uint8_t* base) {
    const Segment ch = plan_.Chunk(seg, c);
    e_.Send(right_, StreamOf(c, k_), phase, static_cast<uint16_t>(step), static_cast<uint32_t>(c),
            base + ch.begin * plan_.elem, ch.count * plan_.elem);
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
