// Recursive halving + doubling all-reduce (Rabenseifner): the ring's
// bandwidth (each rank sends and receives 2(p-1)/p of the buffer) in
// 2 log2(p) steps instead of 2(p-1), for links where each step costs (a
// round trip, wake-ups). Not chosen by kAuto: on loopback (CPU-bound) it
// measured level with the ring at 1 MiB on 4 ranks and ~25% slower at
// 16 MiB, where its copies into and out of scratch cost more than the
// steps it saves.
//
// Words: p = largest power of two <= n; "range" = elements [lo, hi) of the
// buffer. Reduce-scatter step j (distance d = p >> (j + 1)) splits the
// current range in halves; the rank whose bit d is clear keeps the lower
// half, its partner r ^ d the upper, each sends the other half and combines
// what it receives into the half it keeps (lower rank's operand first). After
// log2(p) steps rank r owns block r, reduced once. The all-gather replays the
// steps backwards, each rank sending everything it owns to the same
// partners. Ranks >= p fold into r - p first and get the result back at the
// end, as in recursive doubling.
#include <algorithm>
#include <cstring>
#include <vector>

#include "collective/algorithms.h"
#include "collective/reduce.h"

namespace tern::collective {
namespace {

struct Range {
  size_t lo = 0, hi = 0;
  size_t size() const { return hi - lo; }
};

class HalvingDoubling : public Engine::Handler {
 public:
  HalvingDoubling(Engine& e, const HalvingDoublingArgs& a)
      : e_(e), a_(a), n_(e.size()), r_(e.rank()), k_(e.streams()), elem_(DTypeSize(a.dtype)) {
    steps_ = Log2Floor(n_);
    p_ = 1 << steps_;
    // Both partners derive every step's ranges from the buffer size alone.
    Range cur{0, a.count};
    size_t base = a.count;  // tmp: the fold's buffer first, then one area per step
    for (int j = 0; j < steps_ && r_ < p_; ++j) {
      const int d = p_ >> (j + 1);
      const size_t mid = cur.lo + cur.size() / 2;
      const Range lower{cur.lo, mid}, upper{mid, cur.hi};
      const bool low = (r_ & d) == 0;
      keep_.push_back(low ? lower : upper);
      give_.push_back(low ? upper : lower);
      area_.push_back(base);
      base += keep_.back().size();
      cur = keep_.back();
    }
    left_.assign(static_cast<size_t>(2 * steps_ + 2), 0);
    seen_.resize(left_.size());
    pending_.resize(static_cast<size_t>(steps_));
    combined_.assign(static_cast<size_t>(steps_), 0);
    ag_next_ = steps_ - 1;
  }

  Status Start() {
    if (r_ >= p_) {  // an extra rank: fold into r - p, wait for the result
      SendRange(r_ - p_, kPhaseFold, 0, {0, a_.count}, a_.input);
      ExpectRange(r_ - p_, kPhaseUnfold, 0, {0, a_.count});
      return OkStatus();
    }
    std::memcpy(a_.work, a_.input, a_.count * elem_);
    for (int j = 0; j < steps_; ++j) {
      ExpectRange(Partner(j), kPhaseReduceScatter, j, keep_[j]);
      ExpectRange(Partner(j), kPhaseAllGather, j, give_[j]);
    }
    if (r_ + p_ < n_) {
      ExpectRange(r_ + p_, kPhaseFold, 0, {0, a_.count});
    } else {
      OpenStep(0);
    }
    return OkStatus();
  }

  Result<uint8_t*> Place(int peer, const wire::DataHeader& h, size_t bytes) override {
    uint8_t* base = nullptr;
    Range range;
    const int j = h.step;
    if (h.phase == kPhaseFold && r_ < p_ && peer == r_ + p_ && j == 0) {
      range = {0, a_.count};
      base = a_.tmp;
    } else if (h.phase == kPhaseUnfold && r_ >= p_ && peer == r_ - p_ && j == 0) {
      range = {0, a_.count};
      base = a_.work;
    } else if (h.phase == kPhaseReduceScatter && r_ < p_ && j < steps_ && peer == Partner(j)) {
      range = keep_[j];
    } else if (h.phase == kPhaseAllGather && r_ < p_ && j < steps_ && peer == Partner(j)) {
      range = give_[j];
      base = a_.work;
    } else {
      return DataLossError("halving-doubling: unexpected frame (phase " + std::to_string(h.phase) +
                           ", step " + std::to_string(h.step) + ") from rank " +
                           std::to_string(peer));
    }
    const int chunks = Chunks(range);
    if (h.chunk >= static_cast<uint32_t>(chunks)) {
      return DataLossError("halving-doubling: chunk out of range from rank " + std::to_string(peer));
    }
    const Range c = ChunkOf(range, static_cast<int>(h.chunk));
    uint8_t& seen = Seen(h);
    if (seen || bytes != c.size() * elem_) {
      return DataLossError("halving-doubling: duplicate or mis-sized chunk from rank " +
                           std::to_string(peer));
    }
    seen = 1;
    // A reduce-scatter step lands in its own area of tmp: a partner of a
    // later step may send while this step is still being combined.
    if (h.phase == kPhaseReduceScatter) return a_.tmp + (area_[j] + (c.lo - range.lo)) * elem_;
    return base + c.lo * elem_;
  }

  Status Received(int, const wire::DataHeader& h, uint8_t*, size_t) override {
    const int j = h.step;
    if (h.phase == kPhaseFold) {
      if (--left_[Slot(h)] == 0) {
        Combine(a_.dtype, a_.op, a_.work, a_.work, a_.tmp, a_.count);
        OpenStep(0);
      }
    } else if (h.phase == kPhaseReduceScatter) {
      // Combined as it lands (still in cache) once its step is open;
      // before that (a partner ahead of us) it waits, so every element is
      // combined in step order.
      if (j == open_) {
        CombineChunk(j, static_cast<int>(h.chunk));
      } else {
        pending_[static_cast<size_t>(j)].push_back(static_cast<int>(h.chunk));
      }
    } else if (h.phase == kPhaseAllGather) {
      --left_[Slot(h)];
      AdvanceAllGather();
    }  // kPhaseUnfold: the result landed in work
    return OkStatus();
  }

 private:
  int Partner(int j) const { return r_ ^ (p_ >> (j + 1)); }
  // Frames per transfer: chunk_bytes at most, and spread over the streams
  // when the range is worth splitting; at least one (possibly empty).
  int Chunks(Range r) const {
    const size_t bytes = r.size() * elem_;
    const size_t by_size = (bytes + a_.chunk_bytes - 1) / a_.chunk_bytes;
    const size_t by_streams = std::min<size_t>(k_, bytes / kMinChunkBytes);
    return static_cast<int>(std::max<size_t>({1, by_size, by_streams}));
  }
  Range ChunkOf(Range r, int c) const {
    const Segment s = SegmentOf(r.size(), Chunks(r), c);
    return {r.lo + s.begin, r.lo + s.begin + s.count};
  }
  // Counters and seen-flags: fold, unfold, then reduce-scatter and
  // all-gather per step.
  size_t Slot(const wire::DataHeader& h) const {
    if (h.phase == kPhaseFold) return 0;
    if (h.phase == kPhaseUnfold) return 1;
    return static_cast<size_t>(2 + 2 * h.step + (h.phase == kPhaseAllGather ? 1 : 0));
  }
  uint8_t& Seen(const wire::DataHeader& h) {
    std::vector<uint8_t>& v = seen_[Slot(h)];
    return v[h.chunk];
  }
  void ExpectRange(int peer, uint8_t phase, int step, Range r) {
    const int chunks = Chunks(r);
    wire::DataHeader h{};
    h.phase = phase;
    h.step = static_cast<uint16_t>(step);
    seen_[Slot(h)].assign(static_cast<size_t>(chunks), 0);
    left_[Slot(h)] = chunks;
    for (int s = 0; s < k_; ++s) e_.Expect(peer, s, FramesOnStream(chunks, k_, s));
  }
  void SendRange(int peer, uint8_t phase, int step, Range r, const uint8_t* base) {
    const int chunks = Chunks(r);
    for (int c = 0; c < chunks; ++c) {
      const Range ch = ChunkOf(r, c);
      e_.Send(peer, StreamOf(c, k_), phase, static_cast<uint16_t>(step), static_cast<uint32_t>(c),
              base + ch.lo * elem_, ch.size() * elem_);
    }
  }
  // Reduce-scatter step j may combine: the previous step (or the fold)
  // finished. Sends this step's other half and combines what already came.
  void OpenStep(int j) {
    if (j == steps_) {
      const Range own = keep_.back();
      if (a_.op == ReduceOp::kAvg) DivideBy(a_.dtype, a_.work + own.lo * elem_, own.size(), n_);
      rs_done_ = true;
      AdvanceAllGather();
      return;
    }
    open_ = j;
    SendRange(Partner(j), kPhaseReduceScatter, j, give_[j], a_.work);
    std::vector<int> waiting;
    waiting.swap(pending_[static_cast<size_t>(j)]);
    for (int c : waiting) CombineChunk(j, c);
  }
  void CombineChunk(int j, int chunk) {
    const Range c = ChunkOf(keep_[j], chunk);
    uint8_t* mine = a_.work + c.lo * elem_;
    const uint8_t* theirs = a_.tmp + (area_[j] + (c.lo - keep_[j].lo)) * elem_;
    const bool lower = r_ < Partner(j);
    Combine(a_.dtype, a_.op, mine, lower ? mine : theirs, lower ? theirs : mine, c.size());
    if (++combined_[static_cast<size_t>(j)] == Chunks(keep_[j])) OpenStep(j + 1);
  }
  // The all-gather sends what this rank owns at step j once its whole
  // reduction is done (not merely once step j + 1's frames are in: they
  // can all arrive while this rank still combines its own block).
  void AdvanceAllGather() {
    while (rs_done_ && ag_next_ >= 0 &&
           (ag_next_ == steps_ - 1 || left_[AgSlot(ag_next_ + 1)] == 0)) {
      SendRange(Partner(ag_next_), kPhaseAllGather, ag_next_, keep_[ag_next_], a_.work);
      --ag_next_;
    }
    if (rs_done_ && ag_next_ < 0 && left_[AgSlot(0)] == 0 && !unfolded_ && r_ + p_ < n_) {
      unfolded_ = true;
      SendRange(r_ + p_, kPhaseUnfold, 0, {0, a_.count}, a_.work);
    }
  }
  static size_t AgSlot(int j) { return static_cast<size_t>(3 + 2 * j); }

  Engine& e_;
  const HalvingDoublingArgs& a_;
  const int n_, r_, k_;
  const size_t elem_;
  int steps_ = 0, p_ = 1;
  std::vector<Range> keep_, give_;  // per reduce-scatter step
  std::vector<size_t> area_;        // per step: element offset of its area in tmp
  std::vector<int> left_;           // frames still to receive, by Slot
  std::vector<std::vector<uint8_t>> seen_;
  std::vector<std::vector<int>> pending_;  // per step: chunks waiting for it to open
  std::vector<int> combined_;              // per step
  int open_ = -1;                          // the reduce-scatter step combining now
  int ag_next_ = 0;                        // the next all-gather step to send
  bool rs_done_ = false, unfolded_ = false;
};

}  // namespace

size_t HalvingDoublingTmpElements(size_t count, int n) {
  // The fold's copy, then the steps' areas: halves of halves, each at most
  // one element above an exact half.
  return 2 * count + static_cast<size_t>(Log2Floor(n)) + 1;
}

Status RunHalvingDoubling(Engine& e, const HalvingDoublingArgs& a) {
  if (e.size() == 1) {
    std::memcpy(a.work, a.input, a.count * DTypeSize(a.dtype));
    return OkStatus();
  }
  HalvingDoubling hd(e, a);
  TERN_RETURN_IF_ERROR(hd.Start());
  return e.Run(hd);
}

}  // namespace tern::collective
