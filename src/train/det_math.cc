#include "train/det_math.h"

#include <cmath>
#include <limits>

namespace tern::train {
namespace {

// ln 2 split so that k * kLn2Hi is exact for |k| < 2^11.
constexpr double kLn2Hi = 6.93147180369123816490e-01;
constexpr double kLn2Lo = 1.90821492927058770002e-10;
constexpr double kInvLn2 = 1.44269504088896338700e+00;
constexpr double kSqrtHalf = 0.70710678118654752440;

// Uniform in (0, 1]: never 0, so its log is finite.
double UniformOpenZero(RngStream& rng) { return 1.0 - rng.UniformDouble(); }

}  // namespace

double DetLog(double x) {
  int e = 0;
  double m = std::frexp(x, &e);  // exact: x = m * 2^e, m in [0.5, 1)
  if (m < kSqrtHalf) {
    m *= 2.0;
    --e;
  }
  // log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.1716; 14 odd terms
  // leave an error below 1e-19.
  double s = (m - 1.0) / (m + 1.0);
  double s2 = s * s;
  double p = 1.0 / 29.0;
  for (int k = 13; k >= 0; --k) p = p * s2 + 1.0 / (2 * k + 1);
  double de = static_cast<double>(e);
  return (de * kLn2Hi + 2.0 * s * p) + de * kLn2Lo;
}

double DetExp(double x) {
  if (x != x) return x;
  if (x < -745.2) return 0.0;
  if (x > 709.78) return std::numeric_limits<double>::infinity();
  double k = std::floor(x * kInvLn2 + 0.5);  // floor is exact
  double r = (x - k * kLn2Hi) - k * kLn2Lo;  // |r| <= 0.35
  // Taylor series to r^18 / 18!: truncation error below 1e-22.
  double p = 1.0;
  for (int n = 18; n >= 1; --n) p = 1.0 + p * r / n;
  return std::ldexp(p, static_cast<int>(k));
}

double DetNormal(RngStream& rng) {
  for (;;) {
    double u = 2.0 * rng.UniformDouble() - 1.0;
    double v = 2.0 * rng.UniformDouble() - 1.0;
    double s = u * u + v * v;
    if (s > 0.0 && s < 1.0) return u * std::sqrt(-2.0 * DetLog(s) / s);
  }
}

double SampleLogGamma(RngStream& rng, double alpha) {
  if (alpha < 1.0) {
    // Gamma(a) = Gamma(a + 1) * U^(1/a).
    return SampleLogGamma(rng, alpha + 1.0) + DetLog(UniformOpenZero(rng)) / alpha;
  }
  const double d = alpha - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x = DetNormal(rng);
    double t = 1.0 + c * x;
    if (t <= 0.0) continue;
    double v = t * t * t;
    double u = UniformOpenZero(rng);
    double x2 = x * x;
    if (u < 1.0 - 0.0331 * x2 * x2) return DetLog(d * v);
    if (DetLog(u) < 0.5 * x2 + d * (1.0 - v + DetLog(v))) return DetLog(d * v);
  }
}

}  // namespace tern::train
