#include "algo/reducer.h"

namespace tern::algo {

Result<std::unique_ptr<Reducer>> Reducer::Create(std::string_view spec) {
  auto r = std::unique_ptr<Reducer>(new Reducer());
  r->spec_ = std::string(spec);
  if (spec.empty()) return r;
  if (ErrorFeedback::IsFeedbackSpec(spec)) {
    TERN_ASSIGN_OR_RETURN(r->feedback_, ErrorFeedback::Create(spec));
  } else {
    TERN_ASSIGN_OR_RETURN(r->codec_, Codec::Create(spec));
  }
  return r;
}

AllReduceOptions Reducer::Options(const CommonStrategyOptions& common, uint64_t tensor_id,
                                  uint64_t step) const {
  AllReduceOptions o;
  o.op = ReduceOp::kAvg;
  o.timeout = common.timeout;
  o.tag = common.tag;
  o.codec = codec_.get();
  o.feedback = feedback_.get();
  o.codec_context = {.seed = common.seed, .step = step, .tensor_id = tensor_id};
  o.commit_feedback = true;
  return o;
}

Status Reducer::AppendState(uint64_t tensor_id, size_t numel, const std::string& prefix,
                            std::vector<StateTensor>* out) {
  if (!feedback_) return OkStatus();
  TERN_ASSIGN_OR_RETURN(std::vector<ErrorFeedback::StateBuffer> buffers,
                        feedback_->State(tensor_id, numel));
  for (const auto& b : buffers) {
    out->push_back({.name = prefix + ".ef." + b.name, .replicated = b.replicated,
                    .values = b.values});
  }
  return OkStatus();
}

}  // namespace tern::algo
