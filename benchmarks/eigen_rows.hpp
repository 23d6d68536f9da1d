#pragma once
// The row reductions of wsd/core/row_kernels.hpp written with Eigen (vectorised for the
// instruction set the benchmark compiles for): wsd-microbench compares the core's hand kernels
// with them. Not part of the installed library.
#include <Eigen/Core>
#include <cstddef>
#include <wsd/core/row_kernels.hpp>

namespace wsd::eigen {

inline kernels::RowMax row_max(const float* x, std::size_t n) {
  Eigen::Map<const Eigen::ArrayXf> a(x, static_cast<Eigen::Index>(n));
  return {a.maxCoeff(), a.isNaN().any()};
}

// sum_i exp(x_i - m).
inline double sum_exp(const float* x, std::size_t n, float m) {
  Eigen::Map<const Eigen::ArrayXf> a(x, static_cast<Eigen::Index>(n));
  return static_cast<double>((a - m).exp().sum());
}

}  // namespace wsd::eigen
