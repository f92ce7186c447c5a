#include <algorithm>
#include <vector>

#include "collective/algorithms.h"

namespace tern::collective {
namespace {

// Chunk c of a `bytes`-long buffer cut into chunk_bytes pieces.
struct Chunks {
  size_t bytes, per;
  int count() const { return bytes == 0 ? 1 : static_cast<int>((bytes + per - 1) / per); }
  size_t begin(int c) const { return std::min(bytes, static_cast<size_t>(c) * per); }
  size_t size(int c) const { return begin(c + 1) - begin(c); }
};

class Broadcast : public Engine::Handler {
 public:
  Broadcast(Engine& e, const BroadcastArgs& a)
      : e_(e), a_(a), n_(e.size()), r_(e.rank()), k_(e.streams()), ch_{a.bytes, a.chunk_bytes} {
    pos_ = (r_ - a.root + n_) % n_;
    prev_ = (r_ + n_ - 1) % n_;
    next_ = (r_ + 1) % n_;
  }

  void Start() {
    const int chunks = ch_.count();
    if (r_ == a_.root) {
      for (int p = 0; p < n_; ++p) {
        if (p == r_ || (a_.algorithm == Algorithm::kRing && p != next_)) continue;
        for (int c = 0; c < chunks; ++c) SendChunk(p, c, a_.input);
      }
      return;
    }
    const int from = a_.algorithm == Algorithm::kRing ? prev_ : a_.root;
    for (int s = 0; s < k_; ++s) e_.Expect(from, s, FramesOnStream(chunks, k_, s));
  }

  Result<uint8_t*> Place(int peer, const wire::DataHeader& h, size_t bytes) override {
    const int from = a_.algorithm == Algorithm::kRing ? prev_ : a_.root;
    if (peer != from || h.phase != kPhaseBroadcast || h.chunk >= static_cast<uint32_t>(ch_.count()) ||
        bytes != ch_.size(static_cast<int>(h.chunk))) {
      return DataLossError("broadcast: unexpected frame from rank " + std::to_string(peer));
    }
    return a_.work + ch_.begin(static_cast<int>(h.chunk));
  }

  Status Received(int, const wire::DataHeader& h, uint8_t*, size_t) override {
    if (a_.algorithm == Algorithm::kRing && pos_ < n_ - 1) {
      SendChunk(next_, static_cast<int>(h.chunk), a_.work);
    }
    return OkStatus();
  }

 private:
  void SendChunk(int peer, int c, const uint8_t* base) {
    e_.Send(peer, StreamOf(c, k_), kPhaseBroadcast, 0, static_cast<uint32_t>(c),
            base + ch_.begin(c), ch_.size(c));
  }

  Engine& e_;
  const BroadcastArgs& a_;
  const int n_, r_, k_;
  Chunks ch_;
  int pos_ = 0, prev_ = 0, next_ = 0;
};

class PointToPoint : public Engine::Handler {
 public:
  PointToPoint(Engine& e, const PointToPointArgs& a)
      : e_(e), a_(a), k_(e.streams()), recv_{a.recv_bytes, a.chunk_bytes} {}

  void Start() {
    if (a_.do_send) {
      const Chunks ch{a_.send_bytes, a_.chunk_bytes};
      for (int c = 0; c < ch.count(); ++c) {
        e_.Send(a_.peer, StreamOf(c, k_), kPhasePointToPoint, 0, static_cast<uint32_t>(c),
                a_.send + ch.begin(c), ch.size(c));
      }
    }
    if (a_.do_recv) {
      for (int s = 0; s < k_; ++s) e_.Expect(a_.peer, s, FramesOnStream(recv_.count(), k_, s));
    }
  }

  Result<uint8_t*> Place(int peer, const wire::DataHeader& h, size_t bytes) override {
    if (peer != a_.peer || h.phase != kPhasePointToPoint ||
        h.chunk >= static_cast<uint32_t>(recv_.count()) ||
        bytes != recv_.size(static_cast<int>(h.chunk))) {
      return InvalidArgumentError("recv: frame from rank " + std::to_string(peer) +
                                  " does not match the receive (sizes differ?)");
    }
    return a_.recv + recv_.begin(static_cast<int>(h.chunk));
  }
  Status Received(int, const wire::DataHeader&, uint8_t*, size_t) override { return OkStatus(); }

 private:
  Engine& e_;
  const PointToPointArgs& a_;
  const int k_;
  Chunks recv_;
};

// Round k: send to rank + 2^k, receive from rank - 2^k. Round k+1 is sent
// once round k's frame arrived (rounds may arrive out of order).
class Barrier : public Engine::Handler {
 public:
  explicit Barrier(Engine& e) : e_(e), n_(e.size()), r_(e.rank()) {
    while ((1 << rounds_) < n_) ++rounds_;
    arrived_.assign(static_cast<size_t>(rounds_), false);
  }
  void Start() {
    for (int k = 0; k < rounds_; ++k) e_.Expect(Mod(r_ - (1 << k)), 0, 1);
    SendRound(0);
  }
  Result<uint8_t*> Place(int peer, const wire::DataHeader& h, size_t bytes) override {
    if (h.phase != kPhaseBarrier || h.step >= rounds_ || bytes != 0 ||
        peer != Mod(r_ - (1 << h.step)) || arrived_[h.step]) {
      return DataLossError("barrier: unexpected frame from rank " + std::to_string(peer));
    }
    return &dummy_;
  }
  Status Received(int, const wire::DataHeader& h, uint8_t*, size_t) override {
    arrived_[h.step] = true;
    while (next_ < rounds_ && arrived_[static_cast<size_t>(next_ - 1)]) SendRound(next_);
    return OkStatus();
  }

 private:
  int Mod(int x) const { return ((x % n_) + n_) % n_; }
  void SendRound(int k) {
    e_.Send(Mod(r_ + (1 << k)), 0, kPhaseBarrier, static_cast<uint16_t>(k), 0, nullptr, 0);
    next_ = k + 1;
  }
  Engine& e_;
  const int n_, r_;
  int rounds_ = 0, next_ = 0;
  std::vector<bool> arrived_;
  uint8_t dummy_ = 0;
};

class ExchangeSizes : public Engine::Handler {
 public:
  ExchangeSizes(Engine& e, uint64_t mine, uint64_t* sizes) : e_(e), sizes_(sizes) {
    StoreLE(mine_, mine);
    sizes_[e.rank()] = mine;
  }
  void Start() {
    for (int p = 0; p < e_.size(); ++p) {
      if (p == e_.rank()) continue;
      e_.Send(p, 0, kPhaseSizes, 0, 0, mine_, 8);
      e_.Expect(p, 0, 1);
    }
    got_.assign(static_cast<size_t>(e_.size() * 8), 0);
  }
  Result<uint8_t*> Place(int peer, const wire::DataHeader& h, size_t bytes) override {
    if (h.phase != kPhaseSizes || bytes != 8) return DataLossError("size exchange: bad frame");
    return got_.data() + peer * 8;
  }
  Status Received(int peer, const wire::DataHeader&, uint8_t* data, size_t) override {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(data[i]) << (8 * i);
    sizes_[peer] = v;
    return OkStatus();
  }

 private:
  static void StoreLE(uint8_t* p, uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
  }
  Engine& e_;
  uint64_t* sizes_;
  uint8_t mine_[8];
  std::vector<uint8_t> got_;
};

}  // namespace

Status RunBroadcast(Engine& e, const BroadcastArgs& a) {
  if (e.size() == 1) return OkStatus();
  Broadcast b(e, a);
  b.Start();
  return e.Run(b);
}

Status RunPointToPoint(Engine& e, const PointToPointArgs& a) {
  PointToPoint p(e, a);
  p.Start();
  return e.Run(p);
}

Status RunBarrier(Engine& e) {
  if (e.size() == 1) return OkStatus();
  Barrier b(e);
  b.Start();
  return e.Run(b);
}

Status RunExchangeSizes(Engine& e, uint64_t mine, uint64_t* sizes) {
  ExchangeSizes x(e, mine, sizes);
  x.Start();
  return e.Run(x);
}

}  // namespace tern::collective
