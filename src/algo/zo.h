// Zeroth-order building blocks: the one-byte code of a projected gradient,
// and perturbations regenerated from (seed, step, stable peer id).
//
// ZO byte (docs/strategies.md, "The ZO byte"). Bit 7 is the sign, bits 0-6
// a code c. c = 0 is zero; c in 1..127 is the magnitude
// scale * 2^((c - 64) / 6), from 2^-10.5 to 2^10.5 times the scale, in
// steps of 2^(1/6) (at most 5.9% relative error). Decoding uses a 6-entry
// table of 2^(r/6) and ldexp (exact), then one multiply by the scale, so
// every host decodes a byte to the same float. Encoding rounds in the log
// domain (libm; only the sender runs it) and flushes magnitudes below half
// the smallest code to zero, saturates above the largest, and sends
// non-finite values as zero.
//
// Perturbations. Peer p's direction at step s is drawn from
// RngStream(seed, kZoPerturbation, s, p): kRademacher takes element k's sign
// from bit (k mod 32) of word k / 32 (set: +1), kNormal takes element k from
// the k-th RngStream::Normal(). Both use integer arithmetic plus exactly
// rounded float operations only, so every host regenerates the same bits.
//
// Thread-safe (pure functions).
#ifndef TERN_ALGO_ZO_H_
#define TERN_ALGO_ZO_H_

#include <cstdint>
#include <span>

#include "tern/algo_options.h"

namespace tern::algo {

uint8_t EncodeZoByte(float value, float scale);
float DecodeZoByte(uint8_t byte, float scale);

// out[k] += coef * z[k] for peer `peer_id`'s direction z at `step`, in
// index order (fp32, one rounding per element).
void AddPerturbation(uint64_t seed, uint64_t step, uint64_t peer_id, ZoDistribution dist,
                     float coef, std::span<float> out);

// The direction itself (tests, tools): out[k] = z[k].
void Perturbation(uint64_t seed, uint64_t step, uint64_t peer_id, ZoDistribution dist,
                  std::span<float> out);

}  // namespace tern::algo

#endif  // TERN_ALGO_ZO_H_
