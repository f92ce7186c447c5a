// Error feedback (tern/codec.h): per-tensor state buffers, pending copies,
// and the commit/abort protocol of DESIGN.md semantic 2.
#include <algorithm>
#include <map>
#include <mutex>
#include <vector>

#include "codec/spec.h"
#include "codec/stages.h"
#include "tern/codec.h"

namespace tern {

// Committed and pending state of one tensor. Buffers by kind:
//   ef:       a = e
//   ef21:     a = g_i,           r = g (replicated)
//   econtrol: a = e,  b = h_i,   r = h (replicated)
struct ErrorFeedback::TensorState {
  uint64_t numel = 0;
  std::vector<float> a, b, r;     // committed
  std::vector<float> pa, pb, pr;  // pending
  std::mutex mu;                  // guards the range lists
  std::vector<std::pair<uint64_t, uint64_t>> worker_ranges, aggregate_ranges;
};

struct ErrorFeedback::Map {
  std::map<uint64_t, std::unique_ptr<TensorState>> tensors;
};

namespace {

void CommitRanges(std::vector<std::pair<uint64_t, uint64_t>>* ranges, uint64_t numel,
                  std::vector<float>* committed, std::vector<float>* pending) {
  if (committed->empty()) return;
  for (auto [begin, n] : *ranges) {
    if (ranges->size() == 1 && begin == 0 && n == numel) {
      committed->swap(*pending);  // pending is always recomputed from committed
    } else {
      std::copy(pending->begin() + begin, pending->begin() + begin + n, committed->begin() + begin);
    }
  }
}

}  // namespace

ErrorFeedback::ErrorFeedback(std::string spec, Kind kind, float eta, std::unique_ptr<Codec> codec)
    : spec_(std::move(spec)),
      kind_(kind),
      eta_(eta),
      codec_(std::move(codec)),
      tensors_(std::make_unique<Map>()) {}

ErrorFeedback::~ErrorFeedback() = default;

bool ErrorFeedback::IsFeedbackSpec(std::string_view spec) {
  Result<codec::ParsedSpec> p = codec::ParseSpec(spec);
  return p.ok() && p->feedback;
}

Result<std::unique_ptr<ErrorFeedback>> ErrorFeedback::Create(std::string_view spec) {
  TERN_ASSIGN_OR_RETURN(codec::ParsedSpec parsed, codec::ParseSpec(spec));
  const CodecInfo* info = codec::FindStageInfo(parsed.wrapper.name);
  if (!parsed.feedback || info == nullptr || info->kind != "feedback") {
    std::string msg(spec);  // (gcc 12 misfires -Wrestrict on "'" + std::string)
    msg.append(" is not error feedback: write ef(...), ef21(...) or econtrol:eta=E(...)");
    return InvalidArgumentError(msg);
  }
  TERN_ASSIGN_OR_RETURN(codec::StageParams params,
                        codec::StageParams::Resolve(parsed.wrapper, *info));
  Kind kind = info->name == "ef" ? Kind::kEf : info->name == "ef21" ? Kind::kEf21 : Kind::kEControl;
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<Codec> inner, codec::BuildPipeline(parsed.stages));
  float eta = 0.0f;
  if (kind == Kind::kEControl) {
    if (params.Get("eta") == "auto") {
      eta = static_cast<float>(inner->traits().density / 2);
    } else {
      TERN_ASSIGN_OR_RETURN(double e, params.Number("eta", 0.0, 1e6));
      eta = static_cast<float>(e);
    }
  }
  std::string canonical = params.canonical();
  canonical.append("(").append(inner->spec()).append(")");
  return std::unique_ptr<ErrorFeedback>(
      new ErrorFeedback(std::move(canonical), kind, eta, std::move(inner)));
}

Result<ErrorFeedback::TensorState*> ErrorFeedback::Find(uint64_t tensor_id, uint64_t numel,
                                                        uint64_t begin, uint64_t n) {
  if (begin > numel || n > numel - begin) {
    return InvalidArgumentError("range [" + std::to_string(begin) + ", +" + std::to_string(n) +
                                ") exceeds tensor of " + std::to_string(numel));
  }
  std::lock_guard<std::mutex> lock(mu_);
  std::unique_ptr<TensorState>& t = tensors_->tensors[tensor_id];
  if (t == nullptr) {
    t = std::make_unique<TensorState>();
    t->numel = numel;
    t->a.assign(numel, 0.0f);
    t->pa.assign(numel, 0.0f);
    if (kind_ == Kind::kEControl) {
      t->b.assign(numel, 0.0f);
      t->pb.assign(numel, 0.0f);
    }
    if (kind_ != Kind::kEf) {
      t->r.assign(numel, 0.0f);
      t->pr.assign(numel, 0.0f);
    }
  } else if (t->numel != numel) {
    return InvalidArgumentError("tensor " + std::to_string(tensor_id) + " has " +
                                std::to_string(t->numel) + " elements, not " +
                                std::to_string(numel));
  }
  return t.get();
}

Result<size_t> ErrorFeedback::Encode(std::span<const float> x, uint64_t numel,
                                     const CodecContext& ctx, std::span<uint8_t> out) {
  TERN_ASSIGN_OR_RETURN(TensorState * t, Find(ctx.tensor_id, numel, ctx.offset, x.size()));
  const size_t n = x.size(), off = ctx.offset;
  thread_local std::vector<float> p, d;
  p.resize(n);
  d.resize(n);
  const float* a = t->a.data() + off;
  const float* b = kind_ == Kind::kEControl ? t->b.data() + off : nullptr;
  for (size_t i = 0; i < n; ++i) {
    if (kind_ == Kind::kEf) {
      p[i] = x[i] + a[i];
    } else if (kind_ == Kind::kEf21) {
      p[i] = x[i] - a[i];
    } else {
      p[i] = (eta_ * a[i] + x[i]) - b[i];
    }
  }
  TERN_ASSIGN_OR_RETURN(size_t size, codec_->Encode(p, ctx, out));
  TERN_RETURN_IF_ERROR(codec_->Decode(out.first(size), ctx, d));
  float* pa = t->pa.data() + off;
  for (size_t i = 0; i < n; ++i) {
    if (kind_ == Kind::kEf) {
      pa[i] = p[i] - d[i];
    } else if (kind_ == Kind::kEf21) {
      pa[i] = a[i] + d[i];
    } else {
      pa[i] = ((a[i] + x[i]) - b[i]) - d[i];
      t->pb[off + i] = b[i] + d[i];
    }
  }
  std::lock_guard<std::mutex> lock(t->mu);
  t->worker_ranges.emplace_back(off, n);
  return size;
}

Status ErrorFeedback::Encode(std::span<const float> x, uint64_t numel, const CodecContext& ctx,
                             std::string* out) {
  size_t old = out->size();
  out->resize(old + codec_->MaxEncodedSize(x.size()));
  std::span<uint8_t> dst(reinterpret_cast<uint8_t*>(out->data()) + old, out->size() - old);
  Result<size_t> n = Encode(x, numel, ctx, dst);
  out->resize(n.ok() ? old + *n : old);
  return n.status();
}

Status ErrorFeedback::Aggregate(std::span<float> mean, uint64_t numel, const CodecContext& ctx) {
  TERN_ASSIGN_OR_RETURN(TensorState * t, Find(ctx.tensor_id, numel, ctx.offset, mean.size()));
  if (kind_ == Kind::kEf) return OkStatus();
  const size_t off = ctx.offset;
  const float* r = t->r.data() + off;
  float* pr = t->pr.data() + off;
  for (size_t i = 0; i < mean.size(); ++i) {
    pr[i] = r[i] + mean[i];
    mean[i] = pr[i];
  }
  std::lock_guard<std::mutex> lock(t->mu);
  t->aggregate_ranges.emplace_back(off, mean.size());
  return OkStatus();
}

void ErrorFeedback::Commit(uint64_t tensor_id) {
  TensorState* t = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = tensors_->tensors.find(tensor_id);
    if (it == tensors_->tensors.end()) return;
    t = it->second.get();
  }
  std::lock_guard<std::mutex> lock(t->mu);
  CommitRanges(&t->worker_ranges, t->numel, &t->a, &t->pa);
  CommitRanges(&t->worker_ranges, t->numel, &t->b, &t->pb);
  CommitRanges(&t->aggregate_ranges, t->numel, &t->r, &t->pr);
  t->worker_ranges.clear();
  t->aggregate_ranges.clear();
}

void ErrorFeedback::Abort(uint64_t tensor_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tensors_->tensors.find(tensor_id);
  if (it == tensors_->tensors.end()) return;
  std::lock_guard<std::mutex> tlock(it->second->mu);
  it->second->worker_ranges.clear();
  it->second->aggregate_ranges.clear();
}

Result<std::vector<ErrorFeedback::StateBuffer>> ErrorFeedback::State(uint64_t tensor_id,
                                                                    uint64_t numel) {
  TERN_ASSIGN_OR_RETURN(TensorState * t, Find(tensor_id, numel, 0, 0));
  std::vector<StateBuffer> out;
  switch (kind_) {
    case Kind::kEf:
      out.push_back({"e", false, t->a});
      break;
    case Kind::kEf21:
      out.push_back({"g", true, t->r});
      out.push_back({"g_i", false, t->a});
      break;
    case Kind::kEControl:
      out.push_back({"h", true, t->r});
      out.push_back({"e", false, t->a});
      out.push_back({"h_i", false, t->b});
      break;
  }
  return out;
}

std::vector<uint64_t> ErrorFeedback::TensorIds() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<uint64_t> ids;
  for (const auto& [id, t] : tensors_->tensors) ids.push_back(id);
  return ids;
}

void ErrorFeedback::Reset(uint64_t tensor_id) {
  std::lock_guard<std::mutex> lock(mu_);
  tensors_->tensors.erase(tensor_id);
}

void ErrorFeedback::ResetAll() {
  std::lock_guard<std::mutex> lock(mu_);
  tensors_->tensors.clear();
}

}  // namespace tern
