#include "net/faulty.h"

#include <algorithm>
#include <thread>
#include <vector>

namespace tern::net {
namespace {

class FaultyConn : public Conn {
 public:
  FaultyConn(std::unique_ptr<Conn> inner, FaultSpec spec)
      : inner_(std::move(inner)), spec_(spec) {}

  Result<size_t> ReadSome(void* buf, size_t n) override { return inner_->ReadSome(buf, n); }

  Result<size_t> WriteSome(const struct iovec* iov, int iovcnt) override {
    if (spec_.write_delay.count() > 0) std::this_thread::sleep_for(spec_.write_delay);
    if (written_ >= spec_.close_after_bytes) {
      inner_->Close();
      return UnavailableError("write " + peer() + ": injected close after " +
                              std::to_string(written_) + " bytes");
    }
    size_t total = 0;
    for (int i = 0; i < iovcnt; ++i) total += iov[i].iov_len;
    // Never cross a fault offset within one call, so each fault applies at
    // exactly its byte.
    uint64_t limit = total;
    for (uint64_t at : {spec_.close_after_bytes, spec_.corrupt_at_byte, spec_.drop_after_bytes}) {
      if (at > written_ && at - written_ < limit) limit = at - written_;
    }
    if (written_ >= spec_.drop_after_bytes) {
      written_ += total;
      return total;  // swallowed
    }
    std::vector<iovec> cut = Cut(iov, iovcnt, limit);
    if (written_ == spec_.corrupt_at_byte && total > 0) {
      uint8_t b = *static_cast<const uint8_t*>(iov[First(iov, iovcnt)].iov_base) ^ 0x04;
      iovec one{&b, 1};
      TERN_ASSIGN_OR_RETURN(size_t n, inner_->WriteSome(&one, 1));
      written_ += n;
      return n;
    }
    TERN_ASSIGN_OR_RETURN(size_t n, inner_->WriteSome(cut.data(), static_cast<int>(cut.size())));
    written_ += n;
    return n;
  }

  PollSpec Poll(bool want_read, bool want_write) const override {
    return inner_->Poll(want_read, want_write);
  }
  void Close() override { inner_->Close(); }
  const std::string& peer() const override { return inner_->peer(); }

 private:
  static int First(const struct iovec* iov, int iovcnt) {
    for (int i = 0; i < iovcnt; ++i)
      if (iov[i].iov_len > 0) return i;
    return 0;
  }
  static std::vector<iovec> Cut(const struct iovec* iov, int iovcnt, uint64_t limit) {
    std::vector<iovec> out;
    for (int i = 0; i < iovcnt && limit > 0; ++i) {
      const size_t len = static_cast<size_t>(std::min<uint64_t>(iov[i].iov_len, limit));
      out.push_back({iov[i].iov_base, len});
      limit -= len;
    }
    return out;
  }

  std::unique_ptr<Conn> inner_;
  FaultSpec spec_;
  uint64_t written_ = 0;
};

}  // namespace

std::unique_ptr<Conn> WithFaults(std::unique_ptr<Conn> inner, FaultSpec spec) {
  return std::make_unique<FaultyConn>(std::move(inner), spec);
}

}  // namespace tern::net
