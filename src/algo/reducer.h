// Reducer: the average of a buffer over the world, plain or through a codec
// or error feedback, as one atomic all-reduce (DESIGN.md semantic 2).
//
// Built from the strategies' `codec` option: "" (plain fp32), a Codec spec,
// or an ErrorFeedback spec ("ef21(topk:density=0.01)"). The codec context is
// (run seed, sync index, tensor id), identical on every peer. With error
// feedback the collective commits the state on success and drops it on
// failure, so a retried sync never counts an error twice.
//
// Thread-compatible.
#ifndef TERN_ALGO_REDUCER_H_
#define TERN_ALGO_REDUCER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tern/algo_options.h"
#include "tern/codec.h"
#include "tern/communicator.h"
#include "tern/strategy.h"

namespace tern::algo {

class Reducer {
 public:
  // kInvalidArgument for a bad spec.
  static Result<std::unique_ptr<Reducer>> Create(std::string_view spec);

  // Options of an average of tensor `tensor_id` at sync `step`.
  AllReduceOptions Options(const CommonStrategyOptions& common, uint64_t tensor_id,
                           uint64_t step) const;

  // Appends the error-feedback state of `tensor_id` (numel elements), named
  // "<prefix>.ef.<name>" (e.g. "fragment.1.ef.g_i"). Nothing without
  // feedback.
  Status AppendState(uint64_t tensor_id, size_t numel, const std::string& prefix,
                     std::vector<StateTensor>* out);

  const std::string& spec() const { return spec_; }

 private:
  std::string spec_;
  std::unique_ptr<Codec> codec_;
  std::unique_ptr<ErrorFeedback> feedback_;
};

}  // namespace tern::algo

#endif  // TERN_ALGO_REDUCER_H_
