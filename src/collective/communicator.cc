// The public Communicator: argument plumbing onto Communicator::Impl.
#include "tern/communicator.h"

#include "collective/communicator_impl.h"

namespace tern {

Result<std::unique_ptr<Communicator>> Communicator::Create(World* world,
                                                           CommunicatorOptions options) {
  if (world == nullptr) return InvalidArgumentError("communicator: null world");
  if (options.streams < 1 || options.streams > 16) {
    return InvalidArgumentError("communicator: streams must be in [1, 16]");
  }
  if (options.chunk_bytes < 4096 || options.chunk_bytes > (size_t{64} << 20)) {
    return InvalidArgumentError("communicator: chunk_bytes must be in [4 KiB, 64 MiB]");
  }
  return std::unique_ptr<Communicator>(
      new Communicator(std::make_unique<Impl>(world, options)));
}

Communicator::Communicator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Communicator::~Communicator() = default;

Status Communicator::Connect(std::chrono::milliseconds timeout) {
  const Deadline d = Deadline::After(timeout);
  return impl_->Submit([this, d](OpStats*) { return impl_->Connect(d); }, nullptr);
}

uint64_t Communicator::revision() const { return impl_->revision(); }
int Communicator::rank() const { return impl_->rank(); }
int Communicator::size() const { return impl_->size(); }
OpStats Communicator::TotalStats() const { return impl_->TotalStats(); }

Status Communicator::AllReduce(TensorView buffer, const AllReduceOptions& o) {
  return impl_->Submit([&](OpStats* s) { return impl_->AllReduce(buffer, o, s); }, o.stats);
}
std::unique_ptr<Work> Communicator::AllReduceAsync(TensorView buffer, const AllReduceOptions& o) {
  return impl_->SubmitAsync([this, buffer, o](OpStats* s) { return impl_->AllReduce(buffer, o, s); },
                            o.stats);
}

Status Communicator::ReduceScatter(const TensorView& in, TensorView out,
                                   const ReduceScatterOptions& o) {
  return impl_->Submit([&](OpStats* s) { return impl_->ReduceScatter(in, out, o, s); }, o.stats);
}
std::unique_ptr<Work> Communicator::ReduceScatterAsync(const TensorView& in, TensorView out,
                                                       const ReduceScatterOptions& o) {
  return impl_->SubmitAsync(
      [this, in, out, o](OpStats* s) { return impl_->ReduceScatter(in, out, o, s); }, o.stats);
}

Status Communicator::AllGather(const TensorView& in, TensorView out, const CollectiveOptions& o) {
  return impl_->Submit([&](OpStats* s) { return impl_->AllGather(in, out, o, s); }, o.stats);
}
std::unique_ptr<Work> Communicator::AllGatherAsync(const TensorView& in, TensorView out,
                                                   const CollectiveOptions& o) {
  return impl_->SubmitAsync(
      [this, in, out, o](OpStats* s) { return impl_->AllGather(in, out, o, s); }, o.stats);
}

Status Communicator::AllGatherBytes(std::string_view mine, std::vector<std::string>* out,
                                    const CollectiveOptions& o) {
  return impl_->Submit([&](OpStats* s) { return impl_->AllGatherBytes(mine, out, o, s); },
                       o.stats);
}
std::unique_ptr<Work> Communicator::AllGatherBytesAsync(std::string_view mine,
                                                        std::vector<std::string>* out,
                                                        const CollectiveOptions& o) {
  return impl_->SubmitAsync(
      [this, mine, out, o](OpStats* s) { return impl_->AllGatherBytes(mine, out, o, s); },
      o.stats);
}

Status Communicator::Broadcast(TensorView buffer, int root, const CollectiveOptions& o) {
  return impl_->Submit([&](OpStats* s) { return impl_->Broadcast(buffer, root, o, s); }, o.stats);
}
std::unique_ptr<Work> Communicator::BroadcastAsync(TensorView buffer, int root,
                                                   const CollectiveOptions& o) {
  return impl_->SubmitAsync(
      [this, buffer, root, o](OpStats* s) { return impl_->Broadcast(buffer, root, o, s); },
      o.stats);
}
Status Communicator::BroadcastBytes(std::string* data, int root, const CollectiveOptions& o) {
  return impl_->Submit([&](OpStats* s) { return impl_->BroadcastBytes(data, root, o, s); },
                       o.stats);
}

Status Communicator::Barrier(const CollectiveOptions& o) {
  return impl_->Submit([&](OpStats* s) { return impl_->Barrier(o, s); }, o.stats);
}
std::unique_ptr<Work> Communicator::BarrierAsync(const CollectiveOptions& o) {
  return impl_->SubmitAsync([this, o](OpStats* s) { return impl_->Barrier(o, s); }, o.stats);
}

Status Communicator::Send(int peer, const TensorView& buffer, const CollectiveOptions& o) {
  return impl_->Submit([&](OpStats* s) { return impl_->PointToPoint(peer, &buffer, nullptr, o, s); },
                       o.stats);
}
Status Communicator::Recv(int peer, TensorView buffer, const CollectiveOptions& o) {
  return impl_->Submit([&](OpStats* s) { return impl_->PointToPoint(peer, nullptr, &buffer, o, s); },
                       o.stats);
}
Status Communicator::SendRecv(int peer, const TensorView& send, TensorView recv,
                              const CollectiveOptions& o) {
  return impl_->Submit([&](OpStats* s) { return impl_->PointToPoint(peer, &send, &recv, o, s); },
                       o.stats);
}
std::unique_ptr<Work> Communicator::SendAsync(int peer, const TensorView& buffer,
                                              const CollectiveOptions& o) {
  return impl_->SubmitAsync(
      [this, peer, buffer, o](OpStats* s) { return impl_->PointToPoint(peer, &buffer, nullptr, o, s); },
      o.stats);
}
std::unique_ptr<Work> Communicator::RecvAsync(int peer, TensorView buffer,
                                              const CollectiveOptions& o) {
  return impl_->SubmitAsync(
      [this, peer, buffer, o](OpStats* s) mutable {
        return impl_->PointToPoint(peer, nullptr, &buffer, o, s);
      },
      o.stats);
}
std::unique_ptr<Work> Communicator::SendRecvAsync(int peer, const TensorView& send,
                                                  TensorView recv, const CollectiveOptions& o) {
  return impl_->SubmitAsync(
      [this, peer, send, recv, o](OpStats* s) mutable {
        return impl_->PointToPoint(peer, &send, &recv, o, s);
      },
      o.stats);
}

}  // namespace tern
