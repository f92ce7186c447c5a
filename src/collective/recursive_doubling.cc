#include <cstring>
#include <vector>

#include "collective/algorithms.h"
#include "collective/reduce.h"

namespace tern::collective {
namespace {

class RecursiveDoubling : public Engine::Handler {
 public:
  RecursiveDoubling(Engine& e, const RecursiveDoublingArgs& a)
      : e_(e), a_(a), n_(e.size()), r_(e.rank()), k_(e.streams()) {
    rounds_ = Log2Floor(n_);
    p_ = 1 << rounds_;
    bytes_ = a.count * DTypeSize(a.dtype);
    chunks_ = static_cast<int>(bytes_ == 0 ? 1 : (bytes_ + a.chunk_bytes - 1) / a.chunk_bytes);
    recv_left_.assign(static_cast<size_t>(rounds_ + 1), chunks_);
    send_left_.assign(static_cast<size_t>(rounds_), chunks_);
  }

  Status Start() {
    if (r_ >= p_) {  // an extra rank: fold into r - p, wait for the result
      SendAll(r_ - p_, kPhaseFold, 0, a_.input, false);
      ExpectAll(r_ - p_, chunks_);
      return OkStatus();
    }
    std::memcpy(a_.work, a_.input, bytes_);
    if (r_ + p_ < n_) {
      ExpectAll(r_ + p_, chunks_);  // fold from the extra rank first
    } else {
      StartRound(0);
    }
    for (int k = 0; k < rounds_; ++k) ExpectAll(r_ ^ (1 << k), chunks_);
    return OkStatus();
  }

  Result<uint8_t*> Place(int peer, const wire::DataHeader& h, size_t bytes) override {
    uint8_t* base = nullptr;  // may be null for an empty buffer
    bool expected = true;
    if (h.phase == kPhaseFold && r_ < p_ && peer == r_ + p_) {
      base = Tmp(rounds_);
    } else if (h.phase == kPhaseRound && r_ < p_ && h.step < rounds_ && peer == (r_ ^ (1 << h.step))) {
      base = Tmp(h.step);
    } else if (h.phase == kPhaseUnfold && r_ >= p_ && peer == r_ - p_) {
      base = a_.work;
    } else {
      expected = false;
    }
    const size_t off = Offset(static_cast<int>(h.chunk));
    if (!expected || h.chunk >= static_cast<uint32_t>(chunks_) ||
        bytes != Offset(static_cast<int>(h.chunk) + 1) - off) {
      return DataLossError("recursive doubling: unexpected frame from rank " + std::to_string(peer));
    }
    return base + off;
  }

  Status Received(int, const wire::DataHeader& h, uint8_t*, size_t) override {
    if (h.phase == kPhaseFold) {
      if (--recv_left_[rounds_] == 0) {
        Combine(a_.dtype, a_.op, a_.work, a_.work, Tmp(rounds_), a_.count);
        StartRound(0);
      }
    } else if (h.phase == kPhaseRound) {
      --recv_left_[h.step];
      MaybeFinishRound(h.step);
    }  // kPhaseUnfold: the result (already averaged) landed in work
    return OkStatus();
  }

  Status Sent(int, const wire::DataHeader& h) override {
    --send_left_[h.step];
    MaybeFinishRound(h.step);
    return OkStatus();
  }

 private:
  uint8_t* Tmp(int i) const { return a_.tmp + static_cast<size_t>(i) * bytes_; }
  size_t Offset(int c) const {
    const size_t per = a_.chunk_bytes / DTypeSize(a_.dtype) * DTypeSize(a_.dtype);
    const size_t o = static_cast<size_t>(c) * per;
    return o < bytes_ ? o : bytes_;
  }
  void ExpectAll(int peer, int chunks) {
    for (int s = 0; s < k_; ++s) e_.Expect(peer, s, FramesOnStream(chunks, k_, s));
  }
  void SendAll(int peer, uint8_t phase, int step, const uint8_t* data, bool notify) {
    for (int c = 0; c < chunks_; ++c) {
      e_.Send(peer, StreamOf(c, k_), phase, static_cast<uint16_t>(step), static_cast<uint32_t>(c),
              data + Offset(c), Offset(c + 1) - Offset(c), notify);
    }
  }
  void StartRound(int k) {
    if (k == rounds_) {
      if (a_.op == ReduceOp::kAvg) DivideBy(a_.dtype, a_.work, a_.count, n_);
      if (r_ + p_ < n_) SendAll(r_ + p_, kPhaseUnfold, 0, a_.work, false);
      return;
    }
    // The send reads `work`, so the round's combine waits for it (Sent).
    SendAll(r_ ^ (1 << k), kPhaseRound, k, a_.work, true);
  }
  void MaybeFinishRound(int k) {
    if (recv_left_[k] != 0 || send_left_[k] != 0) return;
    const int partner = r_ ^ (1 << k);
    const uint8_t* lo = r_ < partner ? a_.work : Tmp(k);
    const uint8_t* hi = r_ < partner ? Tmp(k) : a_.work;
    Combine(a_.dtype, a_.op, a_.work, lo, hi, a_.count);
    StartRound(k + 1);
  }

  Engine& e_;
  const RecursiveDoublingArgs& a_;
  const int n_, r_, k_;
  int rounds_ = 0, p_ = 1, chunks_ = 1;
  size_t bytes_ = 0;
  std::vector<int> recv_left_, send_left_;
};

}  // namespace

int RecursiveDoublingTmpBuffers(int n) { return Log2Floor(n) + 1; }

Status RunRecursiveDoubling(Engine& e, const RecursiveDoublingArgs& a) {
  if (e.size() == 1) {
    std::memcpy(a.work, a.input, a.count * DTypeSize(a.dtype));
    return OkStatus();
  }
  RecursiveDoubling rd(e, a);
  TERN_RETURN_IF_ERROR(rd.Start());
  return e.Run(rd);
}

}  // namespace tern::collective
