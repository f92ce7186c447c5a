// Helpers for the strategy tests: a toy model whose gradient the test
// computes exactly, run on n ranks as threads over loopback (real TCP).
#ifndef TERN_TESTS_ALGO_HARNESS_H_
#define TERN_TESTS_ALGO_HARNESS_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "collective/testing/thread_ranks.h"
#include "tern/strategy.h"
#include "util/hash.h"
#include "util/philox.h"

namespace tern::testing {

#define ALGO_ASSERT_OK(expr)                                      \
  do {                                                            \
    ::tern::Status algo_s_ = (expr);                              \
    ASSERT_TRUE(algo_s_.ok()) << #expr << ": " << algo_s_.ToString(); \
  } while (0)

// Per-rank quadratic: loss = 0.5 * |theta - target(rank, step)|^2, with the
// target drifting per step, so ranks disagree and steps differ. `layers`
// equal slices named "layers.<i>.weight".
struct ToyWorker {
  ToyWorker(int rank, size_t layers, size_t per_layer) : rank(rank) {
    params.assign(layers * per_layer, 0.0f);
    grads.assign(params.size(), 0.0f);
    // Multiples of 8 are 2-D [per_layer / 8, 8] (PowerSGD compresses them).
    std::vector<int64_t> shape;
    if (per_layer % 8 == 0) shape = {static_cast<int64_t>(per_layer / 8), 8};
    for (size_t l = 0; l < layers; ++l) {
      layout.push_back({.name = "layers." + std::to_string(l) + ".weight",
                        .offset = l * per_layer, .numel = per_layer, .shape = shape});
    }
    for (size_t i = 0; i < params.size(); ++i) params[i] = 0.01f * static_cast<float>(i % 7);
  }
  float Target(size_t i, int64_t step) const {
    RngStream rng(99, RngPurpose::kTest, static_cast<uint64_t>(rank) * 1000003 + i,
                  static_cast<uint64_t>(step));
    return static_cast<float>(rank + 1) * 0.5f + rng.UniformFloat() - 0.5f;
  }
  void Backward(int64_t step) {
    for (size_t i = 0; i < params.size(); ++i) grads[i] = params[i] - Target(i, step);
  }
  void Sgd(float lr) {
    for (size_t i = 0; i < params.size(); ++i) params[i] = params[i] - lr * grads[i];
  }
  ModelBuffers Buffers() { return {.parameters = params, .gradients = grads, .layout = layout}; }

  int rank;
  std::vector<float> params, grads;
  std::vector<ParamSlice> layout;
};

inline uint64_t HashFloats(std::span<const float> v) { return Xxh3(v.data(), v.size_bytes()); }

// Hash of every replicated tensor and the replicated metadata.
inline uint64_t ReplicatedHash(Strategy& s) {
  Xxh3Hasher h;
  for (const StateTensor& t : s.State()) {
    if (!t.replicated) continue;
    h.Update(t.name.data(), t.name.size());
    h.Update(t.values.data(), t.values.size_bytes());
  }
  const std::string meta = s.ReplicatedMetadata();
  h.Update(meta.data(), meta.size());
  return h.Digest();
}

// Every state buffer's contents (replicated and per-peer), for "unchanged"
// checks.
inline std::vector<std::vector<float>> Snapshot(Strategy& s) {
  std::vector<std::vector<float>> out;
  for (const StateTensor& t : s.State()) out.emplace_back(t.values.begin(), t.values.end());
  return out;
}

inline std::unique_ptr<Strategy> MakeStrategy(const StrategyConfig& config) {
  auto s = Strategy::Create(config);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

// One first-order inner step of the toy model through the strategy's hooks.
inline Status ToyStep(ToyWorker& w, Strategy& s, int64_t step, float lr) {
  w.Backward(step);
  TERN_RETURN_IF_ERROR(s.AfterBackward({.step = step}));
  w.Sgd(lr);
  return s.AfterOptimizerStep({.step = step});
}

}  // namespace tern::testing

#endif  // TERN_TESTS_ALGO_HARNESS_H_
