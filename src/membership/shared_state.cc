// SharedState (tern/shared_state.h): entries, hashing, and the peer's side
// of a sync round (docs/membership_protocol.md, "Shared-state sync").
#include "tern/shared_state.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>

#include "membership/codes.h"
#include "membership/frames.h"
#include "membership/master_world_impl.h"
#include "membership/state_hash.h"
#include "membership/state_transfer.h"
#include "util/bytes.h"
#include "util/hash.h"

namespace tern {

namespace mp = membership::proto;

namespace {

enum class Kind : uint32_t { kTensor = 0, kBytes = 1, kU64 = 2 };

struct Entry {
  Kind kind = Kind::kTensor;
  TensorView view;               // kTensor
  std::string* bytes = nullptr;  // kBytes
  size_t max_bytes = 0;          // kBytes
  uint64_t* u64 = nullptr;       // kU64
  uint8_t u64_le[8] = {0};       // kU64: scratch for Contents()

  // The entry's bytes as hashed and sent. For kU64 refreshes the scratch.
  std::string_view Contents() {
    switch (kind) {
      case Kind::kTensor: return {static_cast<const char*>(view.data), view.nbytes()};
      case Kind::kBytes: return *bytes;
      case Kind::kU64: StoreLE64(u64_le, *u64); return {reinterpret_cast<char*>(u64_le), 8};
    }
    return {};
  }
};

}  // namespace

class SharedState::Impl {
 public:
  Impl(MasterWorld* world, SharedStateOptions options)
      : world_(world->impl()), options_(options) {
    world_.service().SetFetchHandler(
        [this](net::Conn& conn, const net::Frame& f, uint64_t from) { Serve(conn, f, from); });
  }
  ~Impl() { world_.service().SetFetchHandler(nullptr); }

  Status Register(std::string_view name, Entry e) {
    if (name.empty() || name.size() > SharedStateOptions::kMaxNameBytes) {
      return InvalidArgumentError("shared-state name must have 1..256 bytes");
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (entries_.size() >= SharedStateOptions::kMaxEntries) {
      return InvalidArgumentError("too many shared-state entries");
    }
    if (!entries_.emplace(std::string(name), e).second) {
      return AlreadyExistsError("shared-state entry '" + std::string(name) + "' exists");
    }
    return OkStatus();
  }

  Status Unregister(std::string_view name) {
    std::lock_guard<std::mutex> lock(mu_);
    if (entries_.erase(std::string(name)) == 0) {
      return NotFoundError("no shared-state entry '" + std::string(name) + "'");
    }
    return OkStatus();
  }

  std::vector<EntryHash> Hashes() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<EntryHash> out;
    for (auto& [name, e] : entries_) {
      std::string_view b = e.Contents();
      out.push_back({name, Xxh3(b.data(), b.size()), b.size()});
    }
    return out;
  }

  static uint64_t Combine(const std::vector<EntryHash>& hashes) {
    std::vector<std::pair<std::string, uint64_t>> pairs;
    for (const EntryHash& h : hashes) pairs.emplace_back(h.name, h.hash);
    return membership::CombineEntryHashes(pairs);
  }

  bool synced() const { return synced_.load(); }
  Result<SyncReport> Sync(Deadline deadline);

 private:
  Result<SyncReport> SyncOnce(uint64_t request, Deadline deadline);
  mp::SyncRequest MakeRequest(uint64_t request, uint64_t revision);
  Status RunPlan(const mp::SyncPlan& plan, SyncReport* report, Deadline deadline);
  Status Install(const mp::Fetch& f, std::string&& bytes);
  Status CheckPlan(const mp::SyncPlan& plan);
  Result<SyncReport> Finish(const mp::SyncResult& r, SyncReport report, int64_t start);
  void Serve(net::Conn& conn, const net::Frame& f, uint64_t from);

  MasterWorld::Impl& world_;
  const SharedStateOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Entry> entries_;  // name order = hash order
  // The round this peer serves fetches for, and to whom (guarded by mu_).
  uint64_t serving_round_ = 0;
  std::vector<uint64_t> receivers_;
  uint64_t bytes_served_ = 0;
  uint64_t entries_served_ = 0;
  int active_serves_ = 0;  // fetches being served now
  std::atomic<bool> synced_{false};
};

mp::SyncRequest SharedState::Impl::MakeRequest(uint64_t request, uint64_t revision) {
  mp::SyncRequest r;
  r.set_request_id(request);
  r.set_revision(revision);
  r.set_fresh(!synced_);
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [name, e] : entries_) {
    std::string_view b = e.Contents();
    mp::StateEntry* pe = r.add_entries();
    pe->set_name(name);
    pe->set_hash(Xxh3(b.data(), b.size()));
    pe->set_nbytes(b.size());
    pe->set_kind(static_cast<uint32_t>(e.kind));
    pe->set_dtype(e.kind == Kind::kTensor ? static_cast<uint32_t>(e.view.dtype) : 0);
  }
  return r;
}

Result<SyncReport> SharedState::Impl::Sync(Deadline deadline) {
  const uint64_t request = world_.NextRequestId();
  Result<SyncReport> r = SyncOnce(request, deadline);
  world_.Finish(request);
  return r;
}

Result<SyncReport> SharedState::Impl::SyncOnce(uint64_t request, Deadline deadline) {
  const int64_t start = NowNanos();
  const WorldView view = world_.View();
  if (view.revision == 0) {
    return FailedPreconditionError("SyncSharedState before this peer was admitted");
  }
  SyncReport report;
  report.revision = view.revision;
  mp::PeerToMaster msg;
  *msg.mutable_sync_request() = MakeRequest(request, view.revision);
  auto any = [](const mp::MasterToPeer&) { return true; };
  uint64_t epoch = 0;
  Result<mp::MasterToPeer> first = world_.Request(msg, request, any, deadline, &epoch);
  auto cancel = [&] {
    mp::PeerToMaster c;
    c.mutable_sync_cancel()->set_request_id(request);
    world_.Send(c);
  };
  if (!first.ok()) {
    if (first.status().code() == StatusCode::kDeadlineExceeded) cancel();
    return first.status();
  }
  if (first->has_sync_result()) return Finish(first->sync_result(), report, start);
  const mp::SyncPlan& plan = first->sync_plan();
  report.round = plan.round();
  report.receive_only = plan.receive_only();
  {
    std::lock_guard<std::mutex> lock(mu_);
    serving_round_ = plan.round();
    receivers_.assign(plan.receivers().begin(), plan.receivers().end());
    bytes_served_ = 0;
    entries_served_ = 0;
  }
  cv_.notify_all();
  Status fetched = RunPlan(plan, &report, deadline);
  mp::PeerToMaster done;
  mp::SyncDone* d = done.mutable_sync_done();
  d->set_round(plan.round());
  d->set_code(static_cast<int32_t>(fetched.code()));
  d->set_message(std::string(fetched.message()));
  if (fetched.ok()) *d->mutable_entries() = MakeRequest(0, 0).entries();
  world_.Send(done);
  auto is_result = [](const mp::MasterToPeer& m) { return m.has_sync_result(); };
  Result<mp::MasterToPeer> last = world_.AwaitReply(request, is_result, deadline, epoch);
  {
    // Stop serving; a fetch still sending its last frames finishes first
    // (its receiver may already be done), so the counts are complete.
    std::unique_lock<std::mutex> lock(mu_);
    serving_round_ = 0;
    receivers_.clear();
    cv_.wait_until(lock, deadline.when(), [&] { return active_serves_ == 0; });
    report.bytes_sent = bytes_served_;
    report.entries_served = entries_served_;
  }
  if (!last.ok()) {
    if (last.status().code() == StatusCode::kDeadlineExceeded) cancel();
    return last.status();
  }
  return Finish(last->sync_result(), std::move(report), start);
}

Result<SyncReport> SharedState::Impl::Finish(const mp::SyncResult& r, SyncReport report,
                                             int64_t start) {
  if (r.code() != 0) {
    return membership::StatusFromWire(r.code(), "shared-state sync: " + r.message());
  }
  report.round = r.round();
  report.state_hash = Combine(Hashes());
  if (report.state_hash != r.state_hash()) {
    // The master confirmed everyone's hashes, so this can only mean the
    // buffers changed during the call: never let it pass.
    return DataLossError("shared state changed during the sync (hash differs from the elected)");
  }
  synced_ = true;
  report.seconds = static_cast<double>(NowNanos() - start) * 1e-9;
  return report;
}

Status SharedState::Impl::CheckPlan(const mp::SyncPlan& plan) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const mp::Fetch& f : plan.fetches()) {
    auto it = entries_.find(f.name());
    if (it == entries_.end()) return DataLossError("plan names unknown entry '" + f.name() + "'");
    const Entry& e = it->second;
    const bool fits = e.kind == Kind::kTensor ? f.nbytes() == e.view.nbytes()
                      : e.kind == Kind::kU64  ? f.nbytes() == 8
                                              : f.nbytes() <= e.max_bytes;
    if (!fits) {
      return DataLossError("entry '" + f.name() + "': elected content of " +
                           std::to_string(f.nbytes()) + " bytes does not fit here");
    }
  }
  return OkStatus();
}

Status SharedState::Impl::RunPlan(const mp::SyncPlan& plan, SyncReport* report,
                                  Deadline deadline) {
  TERN_RETURN_IF_ERROR(CheckPlan(plan));
  std::map<uint64_t, std::vector<mp::Fetch>> by_donor;
  std::map<uint64_t, std::string> address;
  for (const mp::Fetch& f : plan.fetches()) {
    by_donor[f.donor_peer()].push_back(f);
    address[f.donor_peer()] = f.donor_address();
  }
  net::HandshakeParams params;
  params.channel = membership::kStateChannel;
  params.run_id = world_.run_id();
  params.revision = plan.revision();
  params.self_peer = world_.peer_id();
  params.auth = world_.auth();
  for (const auto& [donor, fetches] : by_donor) {
    TERN_RETURN_IF_ERROR(membership::FetchFrom(
        {address[donor], donor}, params, plan.round(), fetches,
        [&](const mp::Fetch& f, std::string&& bytes) {
          report->fixed.push_back(f.name());
          return Install(f, std::move(bytes));
        },
        &report->bytes_received, deadline));
  }
  std::sort(report->fixed.begin(), report->fixed.end());
  return OkStatus();
}

Status SharedState::Impl::Install(const mp::Fetch& f, std::string&& bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = entries_.at(f.name());  // CheckPlan saw it
  switch (e.kind) {
    case Kind::kTensor: std::memcpy(e.view.data, bytes.data(), bytes.size()); break;
    case Kind::kBytes: *e.bytes = std::move(bytes); break;
    case Kind::kU64: *e.u64 = LoadLE64(reinterpret_cast<const uint8_t*>(bytes.data())); break;
  }
  return OkStatus();
}

void SharedState::Impl::Serve(net::Conn& conn, const net::Frame& f, uint64_t from) {
  mp::FetchRequest req;
  if (!req.ParseFromString(f.payload) ||
      static_cast<size_t>(req.names_size()) > SharedStateOptions::kMaxEntries) {
    return;
  }
  {
    // The receiver may be quicker than our own copy of the plan.
    std::unique_lock<std::mutex> lock(mu_);
    const bool ready = cv_.wait_for(lock, std::chrono::seconds(10), [&] {
      return serving_round_ == req.round() &&
             std::find(receivers_.begin(), receivers_.end(), from) != receivers_.end();
    });
    if (!ready) return;  // the receiver sees the connection close: kUnavailable
    ++active_serves_;
  }
  // The application is blocked in SyncSharedState while we serve, so the
  // entries do not change; the lock is not held while sending.
  uint64_t sent = 0;
  auto lookup = [&](const std::string& name, std::string_view* bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(name);
    if (it == entries_.end()) return NotFoundError("no entry '" + name + "'");
    *bytes = it->second.Contents();
    ++entries_served_;
    return OkStatus();
  };
  membership::ServeFetch(conn, req, lookup, options_.chunk_bytes, &sent,
                         Deadline::AfterMillis(30000))
      .IgnoreError();
  std::lock_guard<std::mutex> lock(mu_);
  bytes_served_ += sent;
  --active_serves_;
  cv_.notify_all();
}

// --- SharedState (public) --------------------------------------------------------

SharedState::SharedState(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SharedState::~SharedState() = default;

Result<std::unique_ptr<SharedState>> SharedState::Create(MasterWorld* world,
                                                         SharedStateOptions options) {
  if (world == nullptr) return InvalidArgumentError("null world");
  if (options.chunk_bytes == 0 || options.chunk_bytes > membership::kMaxDataFrame) {
    return InvalidArgumentError("chunk_bytes must be in 1..4 MiB");
  }
  return std::unique_ptr<SharedState>(new SharedState(std::make_unique<Impl>(world, options)));
}

Status SharedState::RegisterTensor(std::string_view name, TensorView view) {
  if (view.data == nullptr && view.nbytes() > 0) return InvalidArgumentError("null tensor data");
  Entry e;
  e.kind = Kind::kTensor;
  e.view = view;
  return impl_->Register(name, e);
}

Status SharedState::RegisterBytes(std::string_view name, std::string* bytes, size_t max_bytes) {
  if (bytes == nullptr) return InvalidArgumentError("null bytes");
  if (bytes->size() > max_bytes) return InvalidArgumentError("bytes already exceed max_bytes");
  Entry e;
  e.kind = Kind::kBytes;
  e.bytes = bytes;
  e.max_bytes = max_bytes;
  return impl_->Register(name, e);
}

Status SharedState::RegisterU64(std::string_view name, uint64_t* value) {
  if (value == nullptr) return InvalidArgumentError("null value");
  Entry e;
  e.kind = Kind::kU64;
  e.u64 = value;
  return impl_->Register(name, e);
}

Status SharedState::Unregister(std::string_view name) { return impl_->Unregister(name); }

Result<SyncReport> SharedState::SyncSharedState(std::chrono::milliseconds timeout) {
  return impl_->Sync(Deadline::After(timeout));
}

std::vector<EntryHash> SharedState::Hashes() const { return impl_->Hashes(); }
uint64_t SharedState::StateHash() const { return Impl::Combine(impl_->Hashes()); }
bool SharedState::synced() const { return impl_->synced(); }

}  // namespace tern
