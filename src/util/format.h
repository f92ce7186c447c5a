// Small text helpers the CLI commands and reports share, so every command
// prints bytes and byte ratios the same way ("1.20 GB", "392x fewer").
//
//   HumanBytes(1234567)            -> "1.23 MB"   (decimal units)
//   FewerBytes(1.2e9, 3.07e6)      -> "391x fewer" (baseline / bytes)
//   Percentile({3, 1, 2}, 0.5)     -> 2           (nearest rank)
//
// Thread-safety: pure functions.
#ifndef TERN_UTIL_FORMAT_H_
#define TERN_UTIL_FORMAT_H_

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace tern {

// Decimal units, as network people count: "999 B", "1.0 kB", "12.03 MB",
// "1.20 GB".
inline std::string HumanBytes(double bytes) {
  char buf[32];
  if (bytes >= 1e9) std::snprintf(buf, sizeof buf, "%.2f GB", bytes / 1e9);
  else if (bytes >= 1e6) std::snprintf(buf, sizeof buf, "%.2f MB", bytes / 1e6);
  else if (bytes >= 1e3) std::snprintf(buf, sizeof buf, "%.1f kB", bytes / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f B", bytes);
  return buf;
}

// How `bytes` compares with `baseline`, always as a multiple: "392x
// fewer", "2.5x fewer", "1.8x more", "same", or "sent nothing" (bytes 0).
inline std::string FewerBytes(double baseline, double bytes) {
  if (!(bytes > 0)) return "sent nothing";
  const double r = baseline / bytes;
  if (!std::isfinite(r)) return "-";
  char buf[32];
  if (r >= 0.9995 && r < 1.0005) return "same";
  if (r >= 1) std::snprintf(buf, sizeof buf, r < 10 ? "%.1fx fewer" : "%.0fx fewer", r);
  else std::snprintf(buf, sizeof buf, 1 / r < 10 ? "%.1fx more" : "%.0fx more", 1 / r);
  return buf;
}

// The nearest-rank q-quantile of `v` (q in [0, 1]). REQUIRES: !v.empty().
inline double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

}  // namespace tern

#endif  // TERN_UTIL_FORMAT_H_
