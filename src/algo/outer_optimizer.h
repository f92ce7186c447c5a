// The outer optimizer of the DiLoCo family: one update of fp32 outer
// parameters from an averaged pseudo-gradient, with the rules of
// tern/algo_options.h (OuterRule), elementwise, in a fixed order of float
// operations (no FMA: the build uses -ffp-contract=off), so every peer that
// holds the same state and gradient computes the same bits.
//
// Thread-compatible; the functions touch only their arguments.
#ifndef TERN_ALGO_OUTER_OPTIMIZER_H_
#define TERN_ALGO_OUTER_OPTIMIZER_H_

#include <cstdint>
#include <span>

#include "tern/algo_options.h"

namespace tern::algo {

// How many fp32 state buffers of the parameters' size the rule needs:
// 0 (sgd), 1 (heavy-ball, nesterov: the momentum b), 2 (adam: m, v).
int OuterStateBuffers(OuterRule rule);

// One update of `params` with `grad` (all spans the same size). `state1` and
// `state2` are the rule's buffers (ignored if unused; zero-initialised before
// the first update). `t` (>= 1) is the 1-based count of updates of this
// state, for Adam's bias correction (computed by repeated multiplication in
// double, not pow(), so it is the same on every host).
void OuterStep(const OuterOptimizerOptions& o, int64_t t, std::span<const float> grad,
               std::span<float> params, std::span<float> state1, std::span<float> state2);

// local = torch.lerp(global, local, alpha): global + alpha * (local -
// global) for alpha < 0.5, local - (local - global) * (1 - alpha) otherwise,
// so alpha 0 and 1 give exactly global and local.
void LerpInto(std::span<float> local_inout, std::span<const float> global, float alpha);

// out = a - b (all the same size).
void Difference(std::span<const float> a, std::span<const float> b, std::span<float> out);
// dst = src.
void CopyInto(std::span<float> dst, std::span<const float> src);

}  // namespace tern::algo

#endif  // TERN_ALGO_OUTER_OPTIMIZER_H_
