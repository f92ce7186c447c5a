// Communicator::Impl: queue, connection management and the Execute wrapper.
#include "collective/communicator_impl.h"

#include <algorithm>

#include "util/hash.h"
#include "util/logging.h"

namespace tern {

namespace collective {
uint32_t Signature(std::initializer_list<uint64_t> fields) {
  uint8_t buf[8 * 16];
  size_t n = 0;
  for (uint64_t f : fields) {
    for (int i = 0; i < 8 && n < sizeof(buf); ++i) buf[n++] = static_cast<uint8_t>(f >> (8 * i));
  }
  return static_cast<uint32_t>(Xxh3(buf, n));
}
}  // namespace collective

struct Communicator::Impl::Task {
  OpFn fn;
  OpStats* stats_out = nullptr;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Status status;
  OpStats stats;

  void Run() {
    OpStats s;
    Status st = fn(&s);
    if (stats_out != nullptr) *stats_out = s;
    std::lock_guard<std::mutex> lock(mu);
    status = std::move(st);
    stats = s;
    done = true;
    cv.notify_all();
  }
  Status Wait() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
    return status;
  }
};

class Communicator::Impl::WorkImpl : public Work {
 public:
  explicit WorkImpl(std::shared_ptr<Task> t) : t_(std::move(t)) {}
  ~WorkImpl() override { t_->Wait().IgnoreError(); }
  Status Wait() override { return t_->Wait(); }
  bool Test() override {
    std::lock_guard<std::mutex> lock(t_->mu);
    return t_->done;
  }
  OpStats stats() const override {
    std::lock_guard<std::mutex> lock(t_->mu);
    return t_->done ? t_->stats : OpStats{};
  }

 private:
  std::shared_ptr<Task> t_;
};

Communicator::Impl::Impl(World* world, CommunicatorOptions options)
    : world_(world), options_(options) {
  const WorldView v = world_->View();
  pub_rank_ = rank_ = v.rank;
  pub_size_ = size_ = v.size();
  worker_ = std::thread([this] { WorkerLoop(); });
}

Communicator::Impl::~Impl() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  worker_.join();
  CloseLinks();
}

void Communicator::Impl::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return (stop_ && queue_.empty()) || (!queue_.empty() && !busy_); });
    if (queue_.empty()) return;
    std::shared_ptr<Task> t = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    t->Run();
    lock.lock();
    busy_ = false;
    cv_.notify_all();
  }
}

Status Communicator::Impl::Submit(OpFn op, OpStats* stats_out) {
  std::unique_lock<std::mutex> lock(mu_);
  if (queue_.empty() && !busy_) {
    // Nothing ahead of us: run on the caller's thread (no hand-off latency).
    busy_ = true;
    lock.unlock();
    OpStats s;
    Status st = op(&s);
    if (stats_out != nullptr) *stats_out = s;
    lock.lock();
    busy_ = false;
    // Only the worker waits for busy_ to clear, and only with work queued:
    // an unconditional notify would wake it (a futex call and two context
    // switches) after every synchronous operation.
    if (!queue_.empty()) cv_.notify_all();
    return st;
  }
  auto t = std::make_shared<Task>();
  t->fn = std::move(op);
  t->stats_out = stats_out;
  queue_.push_back(t);
  cv_.notify_all();
  lock.unlock();
  return t->Wait();
}

std::unique_ptr<Work> Communicator::Impl::SubmitAsync(OpFn op, OpStats* stats_out) {
  auto t = std::make_shared<Task>();
  t->fn = std::move(op);
  t->stats_out = stats_out;
  std::lock_guard<std::mutex> lock(mu_);
  queue_.push_back(t);
  cv_.notify_all();
  return std::make_unique<WorkImpl>(t);
}

uint64_t Communicator::Impl::revision() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pub_revision_;
}
int Communicator::Impl::rank() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pub_rank_;
}
int Communicator::Impl::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pub_size_;
}
OpStats Communicator::Impl::TotalStats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return total_;
}

void Communicator::Impl::CloseLinks() {
  for (net::PeerLink& l : links_) l.Close();
  links_.clear();
  engine_.Reset(rank_, {}, options_.checksums);
  connected_ = false;
}

Status Communicator::Impl::Connect(Deadline deadline) {
  CloseLinks();
  const WorldView v = world_->View();
  if (v.rank < 0 || v.rank >= v.size()) return FailedPreconditionError("not a member of the world");
  rank_ = v.rank;
  size_ = v.size();
  net::LinkSetSpec spec;
  spec.params.channel = static_cast<uint16_t>(wire::Channel::kCollective);
  spec.params.run_id = world_->run_id();
  spec.params.revision = v.revision;
  spec.params.self_peer = v.self().peer_id;
  spec.params.stream_count = static_cast<uint16_t>(options_.streams);
  spec.params.checksums = options_.checksums;
  spec.params.auth = world_->DataAuthenticator();
  spec.abandon = [this, revision = v.revision]() -> Status {
    const uint64_t announced = world_->AnnouncedRevision();
    if (announced <= revision) return OkStatus();
    return AbortedError("world revision " + std::to_string(announced) +
                        " was announced while links for " + std::to_string(revision) +
                        " were set up: call UpdateTopology and retry");
  };
  for (int r = 0; r < size_; ++r) {
    if (r > rank_) spec.dial.push_back({v.peers[r].peer_id, v.peers[r].data_address});
    if (r < rank_) spec.accept_from.push_back(v.peers[r].peer_id);
  }
  if (size_ > 1) {
    TERN_ASSIGN_OR_RETURN(std::vector<net::PeerLink> got,
                          net::EstablishLinks(world_->DataListener(), spec, deadline));
    links_.resize(static_cast<size_t>(size_));
    for (net::PeerLink& l : got) links_[static_cast<size_t>(v.RankOf(l.peer_id))] = std::move(l);
  } else {
    links_.resize(1);
  }
  std::vector<collective::PeerConns> conns(static_cast<size_t>(size_));
  for (int r = 0; r < size_; ++r) {
    conns[r].peer_id = v.peers[r].peer_id;
    if (r == rank_) continue;
    conns[r].control = links_[r].control.get();
    for (auto& c : links_[r].data) conns[r].data.push_back(c.get());
  }
  engine_.Reset(rank_, std::move(conns), options_.checksums);
  coll_seq_ = 0;
  p2p_seq_.assign(static_cast<size_t>(size_), 0);
  links_revision_ = v.revision;
  connected_ = true;
  std::lock_guard<std::mutex> lock(mu_);
  pub_revision_ = links_revision_;
  pub_rank_ = rank_;
  pub_size_ = size_;
  return OkStatus();
}

Status Communicator::Impl::CheckRevision() const {
  const uint64_t announced = world_->AnnouncedRevision();
  if (announced > links_revision_) {
    return AbortedError("world revision " + std::to_string(announced) +
                        " was announced (links are at " + std::to_string(links_revision_) +
                        "): call UpdateTopology and retry");
  }
  return OkStatus();
}

Status Communicator::Impl::EnsureConnected(Deadline deadline) {
  if (connected_ && world_->AnnouncedRevision() == links_revision_) return OkStatus();
  const WorldView v = world_->View();
  if (world_->AnnouncedRevision() > v.revision) {
    return AbortedError("world revision " + std::to_string(world_->AnnouncedRevision()) +
                        " was announced: call UpdateTopology and retry");
  }
  if (connected_ && v.revision == links_revision_) return OkStatus();
  const Deadline connect =
      deadline.Min(Deadline::After(std::chrono::milliseconds(options_.connect_timeout)));
  return Connect(connect);
}

void Communicator::Impl::Begin(uint32_t signature, size_t max_payload, Deadline deadline,
                               size_t bytes) {
  engine_.set_receive_thread(bytes >= kReceiveThreadBytes);
  engine_.Begin(coll_seq_, signature, max_payload, deadline, [this] { return CheckRevision(); });
}

void Communicator::Impl::BeginPointToPoint(int peer, uint32_t signature, size_t max_payload,
                                           Deadline deadline, size_t bytes) {
  engine_.set_receive_thread(bytes >= kReceiveThreadBytes);
  engine_.Begin(p2p_seq_[static_cast<size_t>(peer)], signature, max_payload, deadline,
                [this] { return CheckRevision(); });
}

void Communicator::Impl::Fail(const Status& status) {
  const int culprit = engine_.culprit();
  const WorldView v = world_->View();
  const uint64_t culprit_id =
      culprit >= 0 && culprit < v.size() ? v.peers[static_cast<size_t>(culprit)].peer_id : 0;
  if (connected_) engine_.AbortAll(status, culprit_id);
  CloseLinks();
  // Every failure but a revision change (kAborted: the master already
  // announced one) goes to the master, so that ranks that completed this
  // operation abort their next one instead of waiting for its deadline
  // (docs/error_model.md, "One-sided failures"). A peer is blamed only for
  // liveness failures; 0 blames nobody.
  if (status.code() == StatusCode::kAborted) return;
  const bool liveness = status.code() == StatusCode::kUnavailable ||
                        status.code() == StatusCode::kDeadlineExceeded;
  world_->ReportPeerFailure(liveness ? culprit_id : 0, status);
}

Status Communicator::Impl::Execute(OpContext& ctx, const std::function<Status()>& body) {
  const int64_t t0 = NowNanos();
  Status s = EnsureConnected(ctx.deadline);
  const uint64_t sent1 = engine_.bytes_sent(), recv1 = engine_.bytes_received();
  if (s.ok()) s = body();
  if (!s.ok()) {
    TERN_LOG(DEBUG) << "collective failed: " << s.ToString();
    Fail(s);
  }
  OpStats st;
  st.bytes_sent = engine_.bytes_sent() - sent1;
  st.bytes_received = engine_.bytes_received() - recv1;
  st.seconds = static_cast<double>(NowNanos() - t0) * 1e-9;
  st.algorithm = ctx.algorithm;
  if (ctx.stats != nullptr) *ctx.stats = st;
  std::lock_guard<std::mutex> lock(mu_);
  total_.bytes_sent += st.bytes_sent;
  total_.bytes_received += st.bytes_received;
  total_.seconds += st.seconds;
  return s;
}

}  // namespace tern
