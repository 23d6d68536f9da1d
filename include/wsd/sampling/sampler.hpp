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

#include "wsd/core/fields.hpp"
#include "wsd/core/logits.hpp"
#include "wsd/core/settings.hpp"
#include "wsd/text/strings.hpp"

namespace wsd {

// How one phase picks its next token; temperature 0 means greedy.
struct SamplingParams {
  double temperature = 0.0;         // 0: greedy (argmax)
  double top_p = 1.0;               // nucleus mass kept, in (0, 1]
  int top_k = 0;                    // 0: no top-k cut
  std::uint64_t seed = 0;           // the same seed gives the same tokens
  double repetition_penalty = 1.0;  // > 1 lowers the logits of tokens already written (1: off, as the reference)
  bool greedy() const { return temperature <= 0.0; }
  bool operator==(const SamplingParams&) const = default;
  // For the trace: the four the reference has, and the penalty when one is set.
  void describe(Settings& out) const {
    out.push_back({"temperature", temperature});
    out.push_back({"top_p", top_p});
    out.push_back({"top_k", std::int64_t{top_k}});
    out.push_back({"seed", std::uint64_t{seed}});
    if (repetition_penalty != 1.0) out.push_back({"repetition_penalty", repetition_penalty});
  }
};

// The sampling parameters described once (core/fields.hpp); a configuration nests them as
// "draft.*" and "continuation.*".
inline std::span<const Field<SamplingParams>> sampling_fields() {
  using K = FieldKind;
  constexpr double inf = std::numeric_limits<double>::infinity();
  static const std::vector<Field<SamplingParams>> list = {
      member_field(&SamplingParams::temperature, {.name = "temperature", .flag = "temperature",
                                                  .help = "temperature (0: greedy)", .kind = K::real,
                                                  .range = {.min = 0, .max = inf, .max_open = true}}),
      member_field(&SamplingParams::top_p, {.name = "top_p", .flag = "top-p", .help = "nucleus mass kept",
                                            .kind = K::real, .range = {.min = 0, .max = 1, .min_open = true}}),
      member_field(&SamplingParams::top_k, {.name = "top_k", .flag = "top-k", .help = "top-k (0: off)", .kind = K::count,
                                            .range = {.min = 0, .max = std::numeric_limits<int>::max()}}),
      member_field(&SamplingParams::seed, {.name = "seed", .flag = "seed", .help = "random seed", .kind = K::count,
                                           .range = {.min = 0}}),
      member_field(&SamplingParams::repetition_penalty,
                   {.name = "repetition_penalty", .flag = "repetition-penalty",
                    .help = "lowers the logits of tokens already written (1: off, as the reference; base models loop)",
                    .kind = K::real, .range = {.min = 0, .max = inf, .min_open = true, .max_open = true}}),
  };
  return list;
}

// Throws ConfigError naming `where` (e.g. "draft") and the field when a value is out of range.
inline void validate(const SamplingParams& s, const std::string& where) { check_fields(sampling_fields(), s, where); }

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
