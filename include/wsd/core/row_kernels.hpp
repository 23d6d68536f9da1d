#pragma once
// Reductions over one row of logits (max, first index of the max, sum of exp(x - max)): a portable
// scalar version and an AVX2+FMA version chosen at run time on x86-64, whatever flags the caller
// compiles with. One process always uses the same version, so results are reproducible in it.
// The AVX2 version is written with the compiler's vector types and builtins (GCC and Clang), so
// this layer needs no intrinsics header; Eigen versions for comparison: benchmarks/eigen_rows.hpp.
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
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
  RowMax out;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(x[i]))
      out.has_nan = true;
    else if (x[i] > out.value)
      out.value = x[i];
  }
  return out;
}

// sum_i exp(x_i - m) in double.
inline double sum_exp(const float* x, std::size_t n, float m) {
  double s = 0.0;
  for (std::size_t i = 0; i < n; ++i) s += std::exp(static_cast<double>(x[i]) - static_cast<double>(m));
  return s;
}

inline std::size_t first_index_of(const float* x, std::size_t n, float value) {
  for (std::size_t i = 0; i < n; ++i)
    if (x[i] == value) return i;
  return n;
}

}  // namespace portable

#if WSD_HAVE_AVX2_KERNELS
namespace avx2 {

typedef float v8sf __attribute__((vector_size(32)));
typedef int v8si __attribute__((vector_size(32)));
typedef float v4sf __attribute__((vector_size(16)));
typedef double v4df __attribute__((vector_size(32)));

#define WSD_AVX2 __attribute__((target("avx2,fma")))

WSD_AVX2 inline v8sf load(const float* p) {
  v8sf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
WSD_AVX2 inline v8sf splat(float f) { return v8sf{f, f, f, f, f, f, f, f}; }
WSD_AVX2 inline v8sf fmadd(v8sf a, v8sf b, v8sf c) { return __builtin_ia32_vfmaddps256(a, b, c); }
WSD_AVX2 inline v8sf fnmadd(v8sf a, v8sf b, v8sf c) {
#if defined(__clang__)
  return __builtin_ia32_vfmaddps256(-a, b, c);
#else
  return __builtin_ia32_vfnmaddps256(a, b, c);
#endif
}
// Lanes 0-3 (half 0) or 4-7 (half 1) in double.
WSD_AVX2 inline v4df half_to_double(v8sf v, int half) {
  return __builtin_convertvector(
      half == 0 ? __builtin_ia32_vextractf128_ps256(v, 0) : __builtin_ia32_vextractf128_ps256(v, 1), v4df);
}

// exp for x <= 0 (Cephes' polynomial on [-ln2/2, ln2/2] after x = k ln2 + r); 0 below -87.3.
WSD_AVX2 inline v8sf exp_nonpositive(v8sf x) {
  const v8sf lo = splat(-87.3f);
  const v8si underflow = x < lo;
  x = __builtin_ia32_maxps256(x, lo);
  const v8sf k = __builtin_ia32_roundps256(x * splat(1.44269504088896341f), 0x08);  // nearest, no exceptions
  v8sf r = fnmadd(k, splat(0.693359375f), x);
  r = fnmadd(k, splat(-2.12194440e-4f), r);
  v8sf p = splat(1.9875691500e-4f);
  p = fmadd(p, r, splat(1.3981999507e-3f));
  p = fmadd(p, r, splat(8.3334519073e-3f));
  p = fmadd(p, r, splat(4.1665795894e-2f));
  p = fmadd(p, r, splat(1.6666665459e-1f));
  p = fmadd(p, r, splat(5.0000001201e-1f));
  p = fmadd(p, r * r, r + splat(1.0f));
  const v8si e = (__builtin_ia32_cvtps2dq256(k) + 127) << 23;
  return (v8sf)(~underflow & (v8si)(p * (v8sf)e));
}

WSD_AVX2 inline RowMax row_max(const float* x, std::size_t n) {
  RowMax out;
  std::size_t i = 0;
  if (n >= 16) {
    v8sf m0 = load(x), m1 = load(x + 8);
    v8si nan = (m0 != m0) | (m1 != m1);
    for (i = 16; i + 16 <= n; i += 16) {
      const v8sf a = load(x + i), b = load(x + i + 8);
      nan |= (a != a) | (b != b);
      m0 = __builtin_ia32_maxps256(m0, a);
      m1 = __builtin_ia32_maxps256(m1, b);
    }
    const v8sf m = __builtin_ia32_maxps256(m0, m1);
    for (int j = 0; j < 8; ++j) {
      out.value = m[j] > out.value ? m[j] : out.value;
      out.has_nan = out.has_nan || nan[j] != 0;
    }
  }
  for (; i < n; ++i) {
    if (std::isnan(x[i]))
      out.has_nan = true;
    else if (x[i] > out.value)
      out.value = x[i];
  }
  return out;
}

WSD_AVX2 inline double sum_exp(const float* x, std::size_t n, float m) {
  const v8sf mv = splat(m);
  v4df s0 = {0, 0, 0, 0}, s1 = {0, 0, 0, 0};
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const v8sf e = exp_nonpositive(load(x + i) - mv);
    s0 += half_to_double(e, 0);
    s1 += half_to_double(e, 1);
  }
  const v4df lanes = s0 + s1;
  double s = lanes[0] + lanes[1] + lanes[2] + lanes[3];
  if (i < n) {  // the tail through the same polynomial, padded with -inf (exp 0)
    v8sf tail = splat(-std::numeric_limits<float>::infinity());
    for (std::size_t j = 0; i + j < n; ++j) tail[j] = x[i + j];
    const v8sf e = exp_nonpositive(tail - mv);
    for (int j = 0; j < 8; ++j) s += static_cast<double>(e[j]);
  }
  return s;
}

WSD_AVX2 inline std::size_t first_index_of(const float* x, std::size_t n, float value) {
  const v8sf v = splat(value);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    if (const int mask = __builtin_ia32_movmskps256((v8sf)(load(x + i) == v)))
      return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  for (; i < n; ++i)
    if (x[i] == value) return i;
  return n;
}

#undef WSD_AVX2

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
