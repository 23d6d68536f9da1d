#pragma once
// Token samplers for both phases: greedy, temperature, top-k and top-p with an explicit seed.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "wsd/core/sampling_params.hpp"
#include "wsd/core/logits.hpp"
#include "wsd/core/settings.hpp"
#include "wsd/core/strings.hpp"

namespace wsd {

// The repetition penalty (CTRL's rule, as Hugging Face applies it) over one row: each token in
// `written` once, a positive logit divided by the penalty, a negative one multiplied.
inline void penalize_repeats(float* row, std::size_t vocab, std::span<const Token> written, double penalty) {
  if (penalty == 1.0 || written.empty()) return;
  std::vector<Token> seen(written.begin(), written.end());
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  const auto f = static_cast<float>(penalty);
  for (Token t : seen) {
    if (t < 0 || static_cast<std::size_t>(t) >= vocab) continue;
    float& x = row[static_cast<std::size_t>(t)];
    x = x > 0.0f ? x / f : x * f;
  }
}

// The default TokenSampler, honouring every SamplingParams field: the repetition penalty over the
// tokens it picked since reset(), then greedy or temperature / top-k / top-p. The random stream
// is owned here and restarts with reset().
class Sampler {
 public:
  // Implicit: sampling parameters stand for the sampler they describe.
  Sampler(SamplingParams params = {}) : params_(params), rng_(params.seed) {  // NOLINT
    validate(params_, "sampler");
  }

  void reset() {
    rng_.seed(params_.seed);
    written_.clear();
  }
  const SamplingParams& params() const { return params_; }
  void describe(Settings& out) const { params_.describe(out); }

  Token sample(const float* row, std::size_t vocab) {
    if (params_.repetition_penalty == 1.0) return pick(row, vocab);
    if (!written_.empty()) {  // penalise a copy: the row is the caller's
      penalized_.assign(row, row + vocab);
      penalize_repeats(penalized_.data(), vocab, written_, params_.repetition_penalty);
      row = penalized_.data();
    }
    const Token t = pick(row, vocab);
    written_.push_back(t);
    return t;
  }

 private:
  Token pick(const float* row, std::size_t vocab) {
    if (params_.greedy()) return argmax(row, vocab);
    const double inv_t = 1.0 / params_.temperature;
    const double max_logit = static_cast<double>(row[argmax(row, vocab)]);
    candidates_.resize(vocab);
    std::iota(candidates_.begin(), candidates_.end(), Token{0});
    auto by_logit = [row](Token a, Token b) { return row[a] > row[b] || (row[a] == row[b] && a < b); };
    std::size_t keep = vocab;
    if (params_.top_k > 0 && static_cast<std::size_t>(params_.top_k) < vocab) {
      keep = static_cast<std::size_t>(params_.top_k);
      std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(keep), candidates_.end(),
                        by_logit);
    } else if (params_.top_p < 1.0) {
      std::sort(candidates_.begin(), candidates_.end(), by_logit);
    }
    weights_.resize(keep);
    double total = 0.0;
    for (std::size_t i = 0; i < keep; ++i) {
      weights_[i] = std::exp((static_cast<double>(row[candidates_[i]]) - max_logit) * inv_t);
      total += weights_[i];
    }
    if (params_.top_p < 1.0) {  // candidates are sorted here: keep the smallest prefix with mass >= top_p
      double mass = 0.0;
      std::size_t cut = 0;
      while (cut < keep) {
        mass += weights_[cut++] / total;
        if (mass >= params_.top_p) break;
      }
      keep = cut;
      total = std::accumulate(weights_.begin(), weights_.begin() + static_cast<std::ptrdiff_t>(keep), 0.0);
    }
    // One uniform draw per token, turned into a token by inverse CDF: reproducible across platforms.
    const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53 * total;
    double acc = 0.0;
    for (std::size_t i = 0; i < keep; ++i) {
      acc += weights_[i];
      if (u < acc) return candidates_[i];
    }
    return candidates_[keep - 1];
  }

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<Token> candidates_;
  std::vector<double> weights_;
  std::vector<Token> written_;   // picked since reset(), for the penalty (kept only when one is set)
  std::vector<float> penalized_;
};

}  // namespace wsd
