#pragma once
// A provider's logits for the positions asked for, and stable probabilities over them.
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>

#include "wsd/core/errors.hpp"
#include "wsd/core/row_kernels.hpp"
#include "wsd/core/types.hpp"

namespace wsd {

// [rows x vocab] logits owned by the provider; valid until the provider's next append or
// rollback (an xtensor view of it: wsd/numeric/views.hpp).
struct LogitsBlock {
  const float* data = nullptr;
  std::size_t rows = 0;
  std::size_t vocab = 0;

  const float* row(std::size_t i) const { return data + i * vocab; }
};

// log(sum(exp(row))) computed stably (max shift) with the vectorised kernels.
inline double log_sum_exp(const float* row, std::size_t vocab) {
  const kernels::RowMax m = kernels::row_max(row, vocab);
  if (m.has_nan) throw ProviderError("logits contain NaN");
  if (!std::isfinite(m.value))
    throw ProviderError("logits are not finite (max logit " + std::to_string(m.value) + ")");
  const double s = kernels::sum_exp(row, vocab, m.value);
  if (!std::isfinite(s)) throw ProviderError("logits are not finite (a NaN or infinity in the row)");
  return static_cast<double>(m.value) + std::log(s);
}

// log P(token | context) from the row of logits that predicts it.
inline double log_token_probability(const float* row, std::size_t vocab, Token token) {
  if (token < 0 || static_cast<std::size_t>(token) >= vocab)
    throw ProviderError("token id " + std::to_string(token) + " is outside the vocabulary of " +
                        std::to_string(vocab));
  return static_cast<double>(row[token]) - log_sum_exp(row, vocab);
}

// P(token | context) from the row of logits that predicts it.
inline double token_probability(const float* row, std::size_t vocab, Token token) {
  return std::exp(log_token_probability(row, vocab, token));
}

// The highest logit's token; ties go to the lowest id so that greedy decoding is deterministic.
inline Token argmax(const float* row, std::size_t vocab) {
  const kernels::RowMax m = kernels::row_max(row, vocab);
  if (m.has_nan) throw ProviderError("logits contain NaN");
  if (vocab == 0 || m.value == -std::numeric_limits<float>::infinity())
    throw ProviderError("logits are all -infinity: no token can be chosen");
  if (m.value == std::numeric_limits<float>::infinity()) throw ProviderError("logits are not finite (a +infinity in the row)");
  return static_cast<Token>(kernels::first_index_of(row, vocab, m.value));
}

}  // namespace wsd
