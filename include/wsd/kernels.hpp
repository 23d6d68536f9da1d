#pragma once
// Reductions over one row of logits (max, first index of the max, sum of exp(x - max)): a portable
// Eigen version and an AVX2+FMA version chosen at run time on x86-64, whatever flags the caller
// compiles with. One process always uses the same version, so results are reproducible in it.
#include <Eigen/Core>
#include <cmath>
#include <cstddef>
#include <limits>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define WSD_HAVE_AVX2_KERNELS 1
#else
#define WSD_HAVE_AVX2_KERNELS 0
#endif

namespace wsd::kernels {

// The largest entry, NaN if any entry is NaN.
struct RowMax {
  float value = -std::numeric_limits<float>::infinity();
  bool has_nan = false;
};

namespace portable {

inline RowMax row_max(const float* x, std::size_t n) {
  Eigen::Map<const Eigen::ArrayXf> a(x, static_cast<Eigen::Index>(n));
  return {a.maxCoeff(), a.isNaN().any()};
}

// sum_i exp(x_i - m), vectorised by Eigen for the instruction set the caller compiles for.
inline double sum_exp(const float* x, std::size_t n, float m) {
  Eigen::Map<const Eigen::ArrayXf> a(x, static_cast<Eigen::Index>(n));
  return static_cast<double>((a - m).exp().sum());
}

inline std::size_t first_index_of(const float* x, std::size_t n, float value) {
  for (std::size_t i = 0; i < n; ++i)
    if (x[i] == value) return i;
  return n;
}

}  // namespace portable

#if WSD_HAVE_AVX2_KERNELS
namespace avx2 {

// exp for x <= 0 (Cephes' polynomial on [-ln2/2, ln2/2] after x = k ln2 + r); 0 below -87.3.
__attribute__((target("avx2,fma"))) inline __m256 exp_nonpositive(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-87.3f);
  const __m256 underflow = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  x = _mm256_max_ps(x, lo);
  const __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(underflow, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

__attribute__((target("avx2,fma"))) inline RowMax row_max(const float* x, std::size_t n) {
  RowMax out;
  std::size_t i = 0;
  if (n >= 16) {
    __m256 m0 = _mm256_loadu_ps(x), m1 = _mm256_loadu_ps(x + 8);
    __m256 nan = _mm256_or_ps(_mm256_cmp_ps(m0, m0, _CMP_UNORD_Q), _mm256_cmp_ps(m1, m1, _CMP_UNORD_Q));
    for (i = 16; i + 16 <= n; i += 16) {
      const __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
      nan = _mm256_or_ps(nan, _mm256_or_ps(_mm256_cmp_ps(a, a, _CMP_UNORD_Q), _mm256_cmp_ps(b, b, _CMP_UNORD_Q)));
      m0 = _mm256_max_ps(m0, a);
      m1 = _mm256_max_ps(m1, b);
    }
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, _mm256_max_ps(m0, m1));
    for (float v : lanes) out.value = v > out.value ? v : out.value;
    out.has_nan = _mm256_movemask_ps(nan) != 0;
  }
  for (; i < n; ++i) {
    if (std::isnan(x[i])) out.has_nan = true;
    else if (x[i] > out.value) out.value = x[i];
  }
  return out;
}

__attribute__((target("avx2,fma"))) inline double sum_exp(const float* x, std::size_t n, float m) {
  const __m256 mv = _mm256_set1_ps(m);
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv));
    s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
    s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
  }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(s0, s1));
  double s = lanes[0] + lanes[1] + lanes[2] + lanes[3];
  if (i < n) {  // the tail through the same polynomial, padded with -inf (exp 0)
    alignas(32) float tail[8];
    for (std::size_t j = 0; j < 8; ++j) tail[j] = i + j < n ? x[i + j] : -std::numeric_limits<float>::infinity();
    alignas(32) float e[8];
    _mm256_store_ps(e, exp_nonpositive(_mm256_sub_ps(_mm256_load_ps(tail), mv)));
    for (float v : e) s += static_cast<double>(v);
  }
  return s;
}

__attribute__((target("avx2,fma"))) inline std::size_t first_index_of(const float* x, std::size_t n, float value) {
  const __m256 v = _mm256_set1_ps(value);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    if (const int mask = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), v, _CMP_EQ_OQ)))
      return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  for (; i < n; ++i)
    if (x[i] == value) return i;
  return n;
}

}  // namespace avx2
#endif

// True when this process uses the AVX2+FMA versions.
inline bool use_avx2() {
#if WSD_HAVE_AVX2_KERNELS
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
#else
  return false;
#endif
}

inline RowMax row_max(const float* x, std::size_t n) {
#if WSD_HAVE_AVX2_KERNELS
  if (use_avx2()) return avx2::row_max(x, n);
#endif
  return portable::row_max(x, n);
}

inline double sum_exp(const float* x, std::size_t n, float m) {
#if WSD_HAVE_AVX2_KERNELS
  if (use_avx2()) return avx2::sum_exp(x, n, m);
#endif
  return portable::sum_exp(x, n, m);
}

inline std::size_t first_index_of(const float* x, std::size_t n, float value) {
#if WSD_HAVE_AVX2_KERNELS
  if (use_avx2()) return avx2::first_index_of(x, n, value);
#endif
  return portable::first_index_of(x, n, value);
}

}  // namespace wsd::kernels
