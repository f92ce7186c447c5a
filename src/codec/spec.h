// The spec-string grammar (docs/codec_spec.md, "Grammar"): parsing into an
// AST, and the canonical spelling of numbers.
//
//   spec     = feedback | pipeline
//   feedback = name [":" params] "(" pipeline ")"
//   pipeline = stage {"|" stage}
//   stage    = name [":" params]
//   params   = param {"," param};  param = name "=" value
//
// Thread-safe (pure functions).
#ifndef TERN_CODEC_SPEC_H_
#define TERN_CODEC_SPEC_H_

#include <string>
#include <string_view>
#include <vector>

#include "tern/status.h"

namespace tern::codec {

inline constexpr size_t kMaxSpecLength = 1024;

struct Param {
  std::string key;
  std::string value;
};

struct Stage {
  std::string name;
  std::vector<Param> params;
};

struct ParsedSpec {
  bool feedback = false;  // "name[:params](pipeline)"
  Stage wrapper;          // the feedback wrapper when `feedback`
  std::vector<Stage> stages;
};

// kInvalidArgument with a message naming the position of the first error.
Result<ParsedSpec> ParseSpec(std::string_view spec);

// Shortest decimal that reads back as the same double ("0.01", "256", "1e-05").
std::string FormatNumber(double v);
// Strict decimal parse of a whole string; kInvalidArgument otherwise.
Result<double> ParseNumber(std::string_view s);

}  // namespace tern::codec

#endif  // TERN_CODEC_SPEC_H_
