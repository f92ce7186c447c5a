// Bit-reproducible log, exp and Gamma sampling, for randomness that every
// worker must derive identically (DESIGN.md semantic 6).
//
// glibc's log and exp are not correctly rounded and pick FMA or non-FMA
// code paths by CPU, so two hosts may disagree in the last bit. These use
// only +, -, *, /, sqrt (all exactly rounded by IEEE 754) and frexp/ldexp
// (exact), compiled with -ffp-contract=off, so every IEEE-754 host computes
// the same bits. Accuracy is a few ulp, plenty for sampling.
//
//   RngStream rng(seed, RngPurpose::kDirichlet, cls, n);
//   double lg = SampleLogGamma(rng, 0.5);   // log of a Gamma(0.5, 1) draw
//
// Thread-safety: pure functions; the stream is the caller's.
#ifndef TERN_TRAIN_DET_MATH_H_
#define TERN_TRAIN_DET_MATH_H_

#include "util/philox.h"

namespace tern::train {

// Natural log. REQUIRES: x > 0 and finite.
double DetLog(double x);
// e^x; 0 below -745, +inf above 709.78.
double DetExp(double x);
// A standard normal draw (Marsaglia's polar method on DetLog and sqrt).
double DetNormal(RngStream& rng);
// log of a Gamma(alpha, 1) draw (Marsaglia and Tsang 2000; for alpha < 1 the
// boost Gamma(alpha + 1) * U^(1/alpha), kept in log form so that tiny alphas
// do not underflow). REQUIRES: alpha > 0 and finite.
double SampleLogGamma(RngStream& rng, double alpha);

}  // namespace tern::train

#endif  // TERN_TRAIN_DET_MATH_H_
