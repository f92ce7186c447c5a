// The hot loops of the codecs, as tables of functions: a portable scalar
// table (the reference) and AVX2 / AVX-512 tables compiled with target
// attributes, chosen at run time from util/cpu.h. Every table gives the same
// bits as the scalar one for every input (kernels_test.cc), which is why the
// sums below follow one fixed order (DESIGN.md semantic 3).
//
// Arrays of scales inside payloads may be unaligned: kernels take them as
// bytes (little-endian fp32 or E8M0 bytes).
#ifndef TERN_CODEC_KERNELS_H_
#define TERN_CODEC_KERNELS_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "codec/codec_util.h"

namespace tern::codec {

// The key of a Philox stream (RngStream's key and the low words of a and b;
// codec/noise.h).
struct PhiloxKey {
  std::array<uint32_t, 2> key;
  uint32_t a_lo, b_lo;
};

// The longest Rice code rice_codes returns whole (a BitWriter::Put).
inline constexpr uint64_t kRiceMaxCodeBits = 56;

// Room a select_abs_ge caller leaves past `cap` in its output arrays.
inline constexpr size_t kSelectSlack = 64;

// The term a fixed_sum adds up.
enum class SumTerm { kValue, kSquare, kCenteredSquare };

struct Kernels {
  const char* name;

  // Blockwise absmax quantization to integers in [-qmax, qmax] (qmax 127 for
  // int8, 7 for int4), blocks of `block` values (the last may be shorter).
  // Per block: m = max|x| (NaN ignored); if m < FLT_MIN the block is zero
  // (scale 0); else scale = m / qmax, v = x * (qmax / m) clamped to
  // [-qmax, qmax] (NaN -> qmax), and q = round-half-even(v) when noise is
  // null, else q = min(floor(v + u), qmax) with u = (noise[i] >> 8) * 2^-24
  // (stochastic rounding). Writes n/block (rounded up) fp32 scales and n codes.
  void (*quant_blocks)(const float* x, size_t n, size_t block, int qmax, const uint32_t* noise,
                       uint8_t* scales, int8_t* q);

  // out[i] (op)= q[i] * scale[i / block]; `mode` as Codec::DecodeMode.
  void (*dequant_int8)(const uint8_t* scales, const int8_t* q, size_t n, size_t block,
                       float* out, Mode mode);

  // Sign bits (bit i%8 of byte i/8 set iff x[i] >= 0 or x[i] is -0; NaN
  // clears it) and one fp32 scale per block: l2 ? sqrt(S2 / len) : S1 / len,
  // where S1 = sum|x|, S2 = sum x^2 in the canonical order: per group of 256
  // values from the block start, 16 fp32 lane sums (value j of the group to
  // lane j % 16, in order), folded by lane[j] += lane[j + w] for w = 8, 4, 2,
  // 1, the group results added to a double in order. REQUIRES: block % 16 == 0.
  void (*sign_pack)(const float* x, size_t n, size_t block, bool l2, uint8_t* scales,
                    uint8_t* bits);

  // Collects, in index order, the positions (base + i) and values of the
  // x[i] with |x| bits >= thr (AbsBits). Returns cap + 1 if more than `cap`
  // were found (it may stop early), else the count. REQUIRES: pos and val
  // have room for cap + kSelectSlack entries: the SIMD tables store whole
  // vectors and check the count once per 64 values, so they may write up to
  // kSelectSlack entries past the cap (not past cap + kSelectSlack).
  size_t (*select_abs_ge)(const float* x, size_t n, uint32_t thr, uint32_t base, uint32_t* pos,
                          float* val, size_t cap);

  // FP4 codes (docs/codec_spec.md, "fp4") with one E8M0 scale byte per
  // block; writes n codes (0..15, sign in bit 3), one per byte. Rounds to
  // nearest when noise is null, else stochastically with u(noise[i]).
  void (*fp4_codes)(const float* x, size_t n, size_t block, bool e3m0, const uint32_t* noise,
                    uint8_t* scales, uint8_t* codes);

  // bfloat16, round-half-to-even, NaN kept quiet: tern::FloatToBF16 on each
  // value, written little-endian to out (2n bytes, may be unaligned).
  void (*to_bf16)(const float* x, size_t n, uint8_t* out);

  // out[j] = lut[nibble(first + j)] for j < n, where nibble(i) is the low
  // (i even) or high (i odd) half of packed[i / 2]: the decoders of int4
  // and fp4 (a 16-entry table per block).
  void (*nibble_lut)(const uint8_t* packed, size_t first, size_t n, const float* lut,
                     float* out);

  // SumOf, SumOfSquares or SumOfCenteredSquares(x, n, mean) of
  // codec_util.h, bit for bit (FixedSum's order).
  double (*fixed_sum)(const float* x, size_t n, SumTerm term, double mean);

  // QSGD (docs/codec_spec.md, "qsgd"). block_norms: per block of `block`
  // values (the last may be shorter), f32(sqrt(sum x^2)) with the double sum
  // in FixedSum's order (codec_util.h); ceil(n / block) floats.
  void (*block_norms)(const float* x, size_t n, size_t block, float* norms);
  // Codes of values first .. first + n - 1 of a payload, x[i] scaled by
  // s / norm of its block (0 if that stored norm is 0; norms as the payload
  // stores them): code = s -/+ min(floor(|x| s / norm + u(noise[i])), s), minus
  // for a set sign bit, written LSB-first in `width` = bit_width(2s) bits
  // each to out, ceil(n width / 8) bytes, high bits of the last byte zero.
  // REQUIRES: first * width % 8 == 0 (out starts at a byte).
  void (*qsgd_codes)(const float* x, size_t n, size_t first, size_t block, const uint8_t* norms,
                     int s, int width, const uint32_t* noise, uint8_t* out);
  // The inverse: value i = (code - s) * (norm / s) from ceil(n width / 8)
  // bytes at bits. False if some code exceeds 2s (out is then unspecified).
  bool (*qsgd_values)(const uint8_t* bits, size_t n, size_t first, size_t block,
                      const uint8_t* norms, int s, int width, float* out);

  // TernGrad (docs/codec_spec.md, "terngrad"). clipped_max: max over i of
  // min(|x_i|, c), NaN values ignored (0 for n = 0).
  float (*clipped_max)(const float* x, size_t n, float c);
  // Trits t + 1 of n values packed five per byte (byte = sum (t_j + 1) 3^j),
  // ceil(n / 5) bytes: t = sign(x) if not `zero` and u(noise[i]) <
  // min(|x|, c) / s, else 0.
  void (*terngrad_trits)(const float* x, size_t n, float c, float s, bool zero,
                         const uint32_t* noise, uint8_t* out);

  // lut8 codes (docs/codec_spec.md, "lut8"): clamp(RNE(x / scale) + 128, 0,
  // 255), or 0 when `zero`; NaN gives 128 either way.
  void (*lut8_codes)(const float* x, size_t n, float scale, bool zero, uint8_t* codes);

  // FedZip's k-means assignment: ids[i] = the j < nc minimising |v[i] - c[j]|
  // (fp32), ties and NaN distances to the lower index (strict '<').
  void (*nearest_centroid)(const float* v, size_t n, const float* c, int nc, uint8_t* ids);

  // Rice codes (codec/index_coder.h) of the gaps before pos[0..count):
  // g_j = pos[j] - pos[j-1] - 1, g_0 = pos[0] - prev. len[j] = q + 1 + k with
  // q = g_j >> k; code[j] = q ones, a zero, then the k low bits of g_j
  // (LSB first), or 0 when len[j] > kRiceMaxCodeBits (the caller writes
  // those in parts). REQUIRES: positions strictly increasing, pos[0] >= prev,
  // k <= 30.
  void (*rice_codes)(const uint32_t* pos, size_t count, uint64_t prev, int k, uint64_t* code,
                     uint64_t* len);

  // Philox4x32-10 blocks first .. first + blocks - 1 of the stream `key`
  // (counter = low and high word of the block number, a_lo, b_lo), their 4
  // words each in stream order: 4 * blocks words.
  void (*philox)(const PhiloxKey& key, uint64_t first, size_t blocks, uint32_t* out);
};

const Kernels& ScalarKernels();
// Null when the CPU (or TERN_CPU=scalar) rules the table out.
const Kernels* Avx2Kernels();
const Kernels* Avx512Kernels();
// The fastest available table (or the one a test forced).
const Kernels& BestKernels();
// Tests only: makes BestKernels() return *k (null: the detected best again),
// so codec-level tests can compare whole payloads across tables. Not safe
// while codecs run on other threads.
void SetKernelsForTest(const Kernels* k);

// Shared pieces of the kernels, used by every table.
namespace kernel_detail {

// The E8M0 exponent X of a block with max-abs m: the smallest X with
// m <= top * 2^X (top = 6 for e2m1, 1 for e3m0), clamped to [-127, 127];
// m < FLT_MIN gives -127 (an all-zero block).
int Fp4Exponent(float m, bool e3m0);

// The E2M1 / E3M0 magnitude code of a >= 0 (already divided by the scale),
// round-half-to-even between neighbours, saturating at the top.
inline int E2M1Code(float a) {
  return (a > 0.25f) + (a >= 0.75f) + (a > 1.25f) + (a >= 1.75f) + (a > 2.5f) + (a >= 3.5f) +
         (a > 5.0f);
}
inline int E3M0Code(float a) {
  // Codes 0 (zero) and c = 1..7 (2^(c-7)); the midpoint between c and c+1
  // is 1.5 * 2^(c-7) (1/128 for 0 and 1); ties go to the even code.
  return (a > 0.0078125f) + (a >= 0.0234375f) + (a > 0.046875f) + (a >= 0.09375f) +
         (a > 0.1875f) + (a >= 0.375f) + (a > 0.75f);
}
// Magnitudes of the codes 0..7.
inline constexpr float kE2M1Values[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
inline constexpr float kE3M0Values[8] = {0.0f,        0.015625f, 0.03125f, 0.0625f,
                                         0.125f,      0.25f,     0.5f,     1.0f};
// 2^x as a float for x in [-127, 127] (exact).
float Pow2(int x);

// The sums of the tables (sum_kernels.cc).
double FixedSumScalar(const float* x, size_t n, SumTerm term, double mean);
double FixedSumAvx2(const float* x, size_t n, SumTerm term, double mean);
void BlockNormsScalar(const float* x, size_t n, size_t block, float* norms);
void BlockNormsAvx2(const float* x, size_t n, size_t block, float* norms);

// The QSGD entries of the tables (qsgd_kernels.cc).
void QsgdCodesScalar(const float* x, size_t n, size_t first, size_t block, const uint8_t* norms,
                     int s, int width, const uint32_t* noise, uint8_t* out);
void QsgdCodesAvx2(const float* x, size_t n, size_t first, size_t block, const uint8_t* norms,
                   int s, int width, const uint32_t* noise, uint8_t* out);
void QsgdCodesAvx512(const float* x, size_t n, size_t first, size_t block, const uint8_t* norms,
                     int s, int width, const uint32_t* noise, uint8_t* out);
bool QsgdValuesScalar(const uint8_t* bits, size_t n, size_t first, size_t block,
                      const uint8_t* norms, int s, int width, float* out);
bool QsgdValuesAvx512(const uint8_t* bits, size_t n, size_t first, size_t block,
                      const uint8_t* norms, int s, int width, float* out);

// The TernGrad entries of the tables (terngrad_kernels.cc).
float ClippedMaxScalar(const float* x, size_t n, float c);
float ClippedMaxAvx2(const float* x, size_t n, float c);
float ClippedMaxAvx512(const float* x, size_t n, float c);
void TernGradTritsScalar(const float* x, size_t n, float c, float s, bool zero,
                         const uint32_t* noise, uint8_t* out);
void TernGradTritsAvx2(const float* x, size_t n, float c, float s, bool zero,
                       const uint32_t* noise, uint8_t* out);
void TernGradTritsAvx512(const float* x, size_t n, float c, float s, bool zero,
                         const uint32_t* noise, uint8_t* out);

// The Rice entries of the tables (rice_kernels.cc).
void RiceCodesScalar(const uint32_t* pos, size_t count, uint64_t prev, int k, uint64_t* code,
                     uint64_t* len);
void RiceCodesAvx512(const uint32_t* pos, size_t count, uint64_t prev, int k, uint64_t* code,
                     uint64_t* len);

// The philox entries of the tables (philox_simd.cc).
void PhiloxBlocksScalar(const PhiloxKey& key, uint64_t first, size_t blocks, uint32_t* out);
void PhiloxBlocksAvx2(const PhiloxKey& key, uint64_t first, size_t blocks, uint32_t* out);
void PhiloxBlocksAvx512(const PhiloxKey& key, uint64_t first, size_t blocks, uint32_t* out);

// One value of quant_blocks / fp4_codes (the SIMD tables use these for tails).
inline int8_t QuantOne(float x, float inv, float fq) {
  float v = x * inv;
  v = v < fq ? v : fq;  // NaN -> qmax, as MINPS
  v = v > -fq ? v : -fq;
  return static_cast<int8_t>(std::nearbyint(v));
}
inline int8_t StochasticOne(float x, float inv, float fq, uint32_t noise) {
  float v = x * inv;
  v = v < fq ? v : fq;
  v = v > -fq ? v : -fq;
  const float r = std::floor(v + U01(noise));
  return static_cast<int8_t>(r < fq ? r : fq);
}
// Reciprocals of the gaps between neighbouring grid values (powers of two,
// so multiplying by them divides exactly); 0 past the top.
inline constexpr float kE2M1InvGap[8] = {2.0f, 2.0f, 2.0f, 2.0f, 1.0f, 1.0f, 0.5f, 0.0f};
inline constexpr float kE3M0InvGap[8] = {64.0f, 64.0f, 32.0f, 16.0f, 8.0f, 4.0f, 2.0f, 0.0f};
// Stochastic rounding of |x| * inv between the grid neighbours lo <= a <
// hi: up with probability (a - lo) / (hi - lo) (u < p); NaN gives code 0.
inline uint8_t Fp4StochasticOne(float x, float inv, bool e3m0, uint32_t noise) {
  const float* values = e3m0 ? kE3M0Values : kE2M1Values;
  const float a = std::fabs(x) * inv;
  int lo = 0;  // the largest code whose value is <= a
  for (int c = 1; c < 8; ++c) lo += a >= values[c];
  const float p = (a - values[lo]) * (e3m0 ? kE3M0InvGap : kE2M1InvGap)[lo];
  const int code = lo + (lo < 7 && U01(noise) < p);
  return static_cast<uint8_t>(code | (std::signbit(x) ? 8 : 0));
}
inline uint8_t Fp4One(float x, float inv, bool e3m0) {
  float a = std::fabs(x) * inv;  // NaN compares false everywhere: code 0
  int c = e3m0 ? E3M0Code(a) : E2M1Code(a);
  return static_cast<uint8_t>(c | (std::signbit(x) ? 8 : 0));
}
inline uint8_t Lut8One(float x, float scale, bool zero) {
  float r = zero ? 0.0f : std::nearbyint(x / scale) + 128.0f;
  r = r < 255.0f ? r : 255.0f;  // NaN -> 255, as MINPS(r, 255)
  r = r > 0.0f ? r : 0.0f;
  return std::isnan(x) ? 128 : static_cast<uint8_t>(r);
}
inline uint8_t NearestOne(float v, const float* c, int nc) {
  int best = 0;
  float bd = std::fabs(v - c[0]);
  for (int j = 1; j < nc; ++j) {
    const float d = std::fabs(v - c[j]);
    if (d < bd) bd = d, best = j;
  }
  return static_cast<uint8_t>(best);
}
inline float MaxAbs(const float* x, size_t n) {
  float m = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    float a = std::fabs(x[i]);
    m = a > m ? a : m;  // NaN ignored, as MAXPS(a, m)
  }
  return m;
}

}  // namespace kernel_detail
}  // namespace tern::codec

#endif  // TERN_CODEC_KERNELS_H_
