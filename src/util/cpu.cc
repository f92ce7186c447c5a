#include "util/cpu.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace tern {
namespace {

CpuFeatures Detect() {
  CpuFeatures f;
  const char* env = std::getenv("TERN_CPU");
  if (env != nullptr && std::strcmp(env, "scalar") == 0) return f;
#if defined(__x86_64__)
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const unsigned cx1 = c;  // leaf 1 ECX (bit 1: PCLMULQDQ)
  f.sse42 = c & (1u << 20);
  const bool osxsave = c & (1u << 27);
  uint64_t xcr0 = 0;
  if (osxsave) {
    uint32_t lo, hi;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = (static_cast<uint64_t>(hi) << 32) | lo;
  }
  const bool ymm = (xcr0 & 0x6) == 0x6;
  const bool zmm = (xcr0 & 0xE6) == 0xE6;
  f.avx = ymm && (c & (1u << 28));
  f.f16c = f.avx && (c & (1u << 29));
  f.fma = f.avx && (c & (1u << 12));
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    f.avx2 = f.avx && (b & (1u << 5));
    f.bmi2 = b & (1u << 8);
    f.avx512f = zmm && (b & (1u << 16));
    f.avx512dq = f.avx512f && (b & (1u << 17));
    f.avx512bw = f.avx512f && (b & (1u << 30));
    f.avx512vl = f.avx512f && (b & (1u << 31));
    f.vpclmulqdq = f.avx512f && (c & (1u << 10)) && (cx1 & (1u << 1));
  }
#endif
  return f;
}

}  // namespace

const CpuFeatures& Cpu() {
  static const CpuFeatures features = Detect();
  return features;
}

}  // namespace tern
