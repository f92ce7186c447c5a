// Which SIMD extensions this CPU (and OS) supports, for runtime dispatch of
// kernels compiled with __attribute__((target(...))). Works with g++ and
// clang (whose __builtin_cpu_supports lacks some feature names). Every fast
// path must give the same bits as the scalar one (DESIGN.md semantic 3).
#ifndef TERN_UTIL_CPU_H_
#define TERN_UTIL_CPU_H_

namespace tern {

struct CpuFeatures {
  bool sse42 = false;
  bool avx = false;
  bool f16c = false;
  bool fma = false;
  bool avx2 = false;
  bool bmi2 = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512dq = false;
  bool vpclmulqdq = false;  // 512-bit carry-less multiply (crc32c folding)
};

// Detected once; thread-safe. TERN_CPU=scalar in the environment turns every
// feature off (to test the portable paths on a SIMD machine).
const CpuFeatures& Cpu();

}  // namespace tern

#endif  // TERN_UTIL_CPU_H_
