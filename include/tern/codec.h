// Codecs: how tern makes a float tensor small (DESIGN.md, "codec").
//
// A Codec turns n fp32 values into a *payload* (bytes) and back. Codecs are
// named by a spec string, a pipeline of stages separated by '|':
//
//   "int8:block=256"                      blockwise int8, absmax scales
//   "topk:density=0.01|rice"              exact top-1%, Rice-coded positions
//   "compeft:density=0.05,alpha=1|rice"   ComPEFT sign + std, Rice positions
//   "fp16|zstd:level=3"                   cast, then zstd
//
// The grammar, every codec's parameters and every bit layout are in
// docs/codec_spec.md; `tern codec list` prints them. Payloads carry no header:
// the caller knows n, the spec and the CodecContext (the collectives frame
// them; files use the blob format of tern/codec_blob.h).
//
// Stateful error feedback (classic EF, EF21, EControl) wraps a codec and is
// the separate class ErrorFeedback below, spec "ef21(topk:density=0.01)".
//
// Thread-safety: a Codec is immutable after Create(); all its methods are
// const and may be called concurrently from any number of threads.
// ErrorFeedback: see the class comment.
//
// Example (one chunk of a compressed all-reduce):
//   TERN_ASSIGN_OR_RETURN(std::unique_ptr<tern::Codec> codec,
//                         tern::Codec::Create("int8:block=256"));
//   tern::CodecContext ctx{.seed = run_seed, .step = step, .tensor_id = id,
//                          .offset = chunk_begin, .peer_id = my_stable_id};
//   std::string payload;
//   TERN_RETURN_IF_ERROR(codec->Encode(chunk, ctx, &payload));
//   // ... owner side, for each rank r in rank order:
//   TERN_RETURN_IF_ERROR(codec->DecodeAdd(payload_from[r], ctx, sum));
#ifndef TERN_CODEC_H_
#define TERN_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tern/export.h"
#include "tern/status.h"

namespace tern {

// The key of every random choice a codec makes (DESIGN.md semantic 6). The
// same context must be given to Encode and to every Decode of that payload.
//   - seed, step, tensor_id: identical on all peers for one tensor and step.
//   - offset: element index of the payload's first value within the tensor
//     (chunks of one tensor differ only by offset).
//   - peer_id: stable peer id. Only codecs whose noise must be independent
//     across peers read it (stochastic rounding, QSGD, TernGrad; see
//     CodecTraits::uses_peer_noise); it is never needed to decode. random-k
//     ignores it, so every peer keeps the same coordinates and the sum of
//     payloads stays linear.
struct CodecContext {
  uint64_t seed = 0;
  uint64_t step = 0;
  uint64_t tensor_id = 0;
  uint64_t offset = 0;
  uint64_t peer_id = 0;
};

// What collectives and benchmarks may rely on.
struct CodecTraits {
  bool lossless = false;         // Decode(Encode(x)) == x bit for bit
  bool unbiased = false;         // E[Decode(Encode(x))] == x over the randomness
  bool sparse = false;           // payload keeps a subset of coordinates
  double density = 1.0;          // fraction of coordinates kept (1 unless sparse)
  bool uses_peer_noise = false;  // Encode reads ctx.peer_id
  // Nominal wire cost per element for a large payload (e.g. 8.125 for
  // int8:block=256, ~0.34 for compeft at density 0.05 with Rice positions).
  // Lossless byte stages (zstd) do not change it: their gain depends on data.
  double bits_per_element = 32.0;
};

class TERN_EXPORT Codec {
 public:
  // Parses `spec` (docs/codec_spec.md) and builds the pipeline.
  // Returns kInvalidArgument for an unknown codec or parameter, a value out of
  // range, a malformed spec, or an error-feedback spec (use ErrorFeedback).
  // Does not block.
  static Result<std::unique_ptr<Codec>> Create(std::string_view spec);

  virtual ~Codec() = default;
  Codec(const Codec&) = delete;
  Codec& operator=(const Codec&) = delete;

  // The canonical spec: every parameter spelled out, in documented order,
  // numbers in shortest round-trip form. Create(spec()) gives an equal codec.
  const std::string& spec() const { return spec_; }
  const CodecTraits& traits() const { return traits_; }

  // An upper bound on the payload size for n values, for any input; receivers
  // use it to bound frames before allocating. Exact for fixed-size codecs.
  virtual size_t MaxEncodedSize(size_t n) const = 0;

  // Encodes `in` into the caller's buffer and returns the payload size.
  // REQUIRES: out.size() >= MaxEncodedSize(in.size()) (else
  // kInvalidArgument). Non-finite inputs give unspecified (but bounded,
  // decodable) payloads. Allocation is at most proportional to in.size().
  virtual Result<size_t> Encode(std::span<const float> in, const CodecContext& ctx,
                                std::span<uint8_t> out) const = 0;
  // Appends the payload to *out (grows it by at most MaxEncodedSize).
  Status Encode(std::span<const float> in, const CodecContext& ctx, std::string* out) const;

  // Decodes a payload into exactly out.size() values (overwritten).
  // The payload is untrusted: kDataLoss if it is truncated, has trailing
  // bytes or is inconsistent with out.size(); kInvalidArgument if it claims
  // values that are impossible for this codec (e.g. an index >= n). On error
  // `out` holds unspecified values. Allocation is bounded by out.size() and
  // MaxEncodedSize(out.size()), never by a length read from the payload.
  Status Decode(std::span<const uint8_t> payload, const CodecContext& ctx,
                std::span<float> out) const {
    return DecodeImpl(payload, ctx, out, DecodeMode::kStore);
  }
  // As Decode, but adds: out[i] += decoded[i], in index order, in fp32, so an
  // owner can accumulate contributions rank by rank without another buffer.
  // On error `out` may be partly updated: callers that must stay atomic
  // accumulate into scratch (DESIGN.md semantic 2).
  Status DecodeAdd(std::span<const uint8_t> payload, const CodecContext& ctx,
                   std::span<float> out) const {
    return DecodeImpl(payload, ctx, out, DecodeMode::kAdd);
  }
  Status Decode(std::string_view payload, const CodecContext& ctx, std::span<float> out) const {
    return Decode(AsBytes(payload), ctx, out);
  }
  Status DecodeAdd(std::string_view payload, const CodecContext& ctx, std::span<float> out) const {
    return DecodeAdd(AsBytes(payload), ctx, out);
  }

  // How decoded values meet the output buffer (kSubtract: out -= decoded,
  // e.g. to take a contribution back out). Decode and DecodeAdd are the
  // usual entry points; every codec implements all three modes.
  enum class DecodeMode { kStore, kAdd, kSubtract };
  virtual Status DecodeImpl(std::span<const uint8_t> payload, const CodecContext& ctx,
                            std::span<float> out, DecodeMode mode) const = 0;

 protected:
  Codec(std::string spec, CodecTraits traits) : spec_(std::move(spec)), traits_(traits) {}

 private:
  static std::span<const uint8_t> AsBytes(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
  }
  std::string spec_;
  CodecTraits traits_;
};

// One parameter of a codec, for `tern codec list` and the docs.
struct CodecParamInfo {
  std::string name;
  std::string default_value;
  std::string description;
};
// One pipeline stage a spec may name.
struct CodecInfo {
  std::string name;
  // "value" (first stage: the lossy or lossless element coder), "index"
  // (position coder after a sparse stage), "bytes" (last: zstd), or
  // "feedback" (an error-feedback wrapper).
  std::string kind;
  std::string description;
  std::vector<CodecParamInfo> params;
};
// Every stage and wrapper, in documented order. Thread-safe.
TERN_EXPORT const std::vector<CodecInfo>& ListCodecs();

// ---------------------------------------------------------------------------
// Error feedback: a stateful wrapper `state (+) C(x (-) state)` keyed by tensor
// id, in three variants (reference/codecs.md section 4), with C the inner codec:
//
//   ef        worker: p = x + e;  c = C(p);  e' = p - D(c)
//             aggregate: y = mean                   (no replicated state)
//   ef21      worker: c = C(x - g_i);  g_i' = g_i + D(c)
//             aggregate: g' = g + mean;  y = g'
//   econtrol  worker: c = C(eta*e + x - h_i);  h_i' = h_i + D(c);
//                     e' = e + x - h_i - D(c)
//             aggregate: h' = h + mean;  y = h'
//
// EControl is stable only for eta up to about the compressor's contraction
// (for top-k, its density; error_feedback_test.cc diverges at 2x density), so
// the default eta=auto is density / 2 (0.005 for top-k at 1%; 0.5 for dense
// codecs).
//
// where mean = (1/W) sum over workers of D(c_w) (the collective's result) and
// y is what the optimizer should use. All state starts at zero, so the first
// step sends C(x). Specs: "ef(C)", "ef21(C)", "econtrol:eta=E(C)".
//
// Pending state (DESIGN.md semantic 2): Encode and Aggregate compute new state
// from the *committed* state into pending buffers; Commit(tensor_id) makes the
// pending ranges current, Abort(tensor_id) drops them. So a retried step that
// re-encodes after a failed collective never counts an error twice, even
// without an Abort in between.
//
// Replicated state (EF21's g, EControl's h) is identical on every peer when
// all peers apply the same Aggregate to the same bytes; per-peer state
// (EF's e, EF21's g_i, EControl's e and h_i) differs by design. State()
// exposes both, named, so shared-state sync can hash and transfer them.
//
// Thread-safety: calls on distinct tensor ids, or on disjoint ranges of one
// tensor, may run concurrently; Commit, Abort, Reset and State() of a tensor
// must not overlap other calls on that tensor.
//
//   auto ef = tern::ErrorFeedback::Create("ef21(topk:density=0.01|rice)");
//   ctx.offset = begin;
//   (*ef)->Encode(grad.subspan(begin, n), grad.size(), ctx, &payload);
//   ... collective: owners DecodeAdd with (*ef)->codec(), average, re-encode,
//       all-gather; every rank decodes the chunk mean into `avg` ...
//   (*ef)->Aggregate(avg, grad.size(), ctx);   // avg becomes g'
//   ok ? (*ef)->Commit(id) : (*ef)->Abort(id);
class TERN_EXPORT ErrorFeedback {
 public:
  enum class Kind { kEf, kEf21, kEControl };

  // Parses "ef(...)", "ef21(...)" or "econtrol[:eta=E|auto](...)". The inner
  // pipeline is any Codec spec. kInvalidArgument on a bad spec.
  static Result<std::unique_ptr<ErrorFeedback>> Create(std::string_view spec);
  // True if `spec` names an error-feedback wrapper (syntax only).
  static bool IsFeedbackSpec(std::string_view spec);

  ~ErrorFeedback();
  ErrorFeedback(const ErrorFeedback&) = delete;
  ErrorFeedback& operator=(const ErrorFeedback&) = delete;

  // Canonical spec, e.g. "econtrol:eta=auto(topk:density=0.01,select=exact|rice:k=auto)".
  const std::string& spec() const { return spec_; }
  Kind kind() const { return kind_; }
  float eta() const { return eta_; }  // resolved (auto -> density / 2)
  // The inner codec: receivers decode worker messages with it.
  const Codec& codec() const { return *codec_; }

  // Worker side. Encodes the range [ctx.offset, ctx.offset + x.size()) of
  // tensor ctx.tensor_id (numel elements in all) into out (as
  // Codec::Encode), and stores the new per-peer state of that range as
  // pending. State for a new tensor id is allocated (zeros) on first use.
  // kInvalidArgument if the range exceeds numel, numel differs from the
  // tensor's earlier numel, or out is too small.
  Result<size_t> Encode(std::span<const float> x, uint64_t numel, const CodecContext& ctx,
                        std::span<uint8_t> out);
  Status Encode(std::span<const float> x, uint64_t numel, const CodecContext& ctx,
                std::string* out);

  // Aggregate side, run by every peer on the decoded mean of the range
  // [ctx.offset, ctx.offset + mean.size()): replaces `mean` in place by the
  // value the optimizer uses and stores new replicated state as pending.
  // Identity for kEf. Errors as Encode.
  Status Aggregate(std::span<float> mean, uint64_t numel, const CodecContext& ctx);

  // Makes every pending range of the tensor current / drops it. Unknown ids
  // are a no-op.
  void Commit(uint64_t tensor_id);
  void Abort(uint64_t tensor_id);

  // A named state buffer of one tensor (committed values, numel floats).
  struct StateBuffer {
    std::string name;  // "e", "g", "g_i", "h", "h_i"
    bool replicated;   // identical on all peers (hash and sync it)
    std::span<float> values;
  };
  // The buffers of `tensor_id`, replicated first, allocating zeros of
  // `numel` floats if the tensor is new (a joiner then overwrites the
  // replicated ones). Writing through the spans changes the committed state.
  // The spans stay valid until the next Commit, Reset or ResetAll of the
  // tensor (a commit of a whole tensor swaps buffers rather than copying):
  // call State() again after each step. kInvalidArgument if numel differs
  // from the tensor's numel.
  Result<std::vector<StateBuffer>> State(uint64_t tensor_id, uint64_t numel);
  // Tensor ids that have state, ascending.
  std::vector<uint64_t> TensorIds() const;
  // Forgets one tensor's / every tensor's state (back to zeros on next use).
  void Reset(uint64_t tensor_id);
  void ResetAll();

 private:
  struct TensorState;
  ErrorFeedback(std::string spec, Kind kind, float eta, std::unique_ptr<Codec> codec);
  Result<TensorState*> Find(uint64_t tensor_id, uint64_t numel, uint64_t begin, uint64_t n);

  std::string spec_;
  Kind kind_;
  float eta_;
  std::unique_ptr<Codec> codec_;
  mutable std::mutex mu_;  // guards the map, not the buffers
  struct Map;
  std::unique_ptr<Map> tensors_;
};

}  // namespace tern

#endif  // TERN_CODEC_H_
