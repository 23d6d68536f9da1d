#pragma once
// The row reductions of wsd/core/row_kernels.hpp written with Eigen (vectorised for the
// instruction set the caller compiles for), for comparison with the core's hand kernels in
// wsd-microbench and for callers that compile with -march flags of their own.
#include <Eigen/Core>
#include <cstddef>

#include "wsd/core/row_kernels.hpp"

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
