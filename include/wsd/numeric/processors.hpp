#pragma once
// Logits processors in CTranslate2's manner: small named steps, each changing a [rows x vocab]
// block of logits in place (an xtensor view) before a token is picked, and ProcessedSampler, a
// TokenSampler that runs them over a copy of the row and lets a picker (wsd::Sampler) choose.
// The switch rule never sees them: it judges the strong model's own probabilities.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>
#include <xtensor/xview.hpp>

#include "wsd/core/concepts.hpp"
#include "wsd/core/errors.hpp"
#include "wsd/core/logits.hpp"
#include "wsd/core/settings.hpp"
#include "wsd/numeric/views.hpp"
#include "wsd/sampling/sampler.hpp"
#include "wsd/core/strings.hpp"

namespace wsd {

// A writable [rows x vocab] block of logits, as the processors take it (any xtensor container
// or view of that shape whose data() is contiguous works too).
using LogitsTensor = decltype(view(static_cast<float*>(nullptr), 0, 0));

namespace detail {
inline constexpr float kMasked = -std::numeric_limits<float>::infinity();
// The logit at or above which a row keeps `keep` tokens of the highest logits (ties kept too).
// One pass with a min-heap of the `keep` largest: most logits are turned away by one comparison.
inline float kth_largest(std::span<const float> row, std::size_t keep, std::vector<float>& heap) {
  heap.assign(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(keep));
  std::make_heap(heap.begin(), heap.end(), std::greater<>());
  for (std::size_t i = keep; i < row.size(); ++i)
    if (row[i] > heap.front()) {
      std::pop_heap(heap.begin(), heap.end(), std::greater<>());
      heap.back() = row[i];
      std::push_heap(heap.begin(), heap.end(), std::greater<>());
    }
  return heap.front();
}
template <class Tensor>
std::span<float> row_of(Tensor& logits, std::size_t r) {
  const std::size_t vocab = logits.shape()[1];
  return {logits.data() + r * vocab, vocab};
}
}  // namespace detail

// Divides every logit by t (t > 0): below 1 sharpens the distribution, above 1 flattens it.
struct Temperature {
  double t = 1.0;
  template <class Tensor>
  void apply(Tensor& logits, std::span<const Token>) const {
    logits /= static_cast<float>(t);
  }
  void describe(Settings& out) const { out.push_back({"temperature", t}); }
};

// Keeps each row's k highest logits (ties included); the others are masked.
struct TopK {
  std::size_t k = 0;  // 0: off
  template <class Tensor>
  void apply(Tensor& logits, std::span<const Token>) const {
    if (k == 0 || k >= logits.shape()[1]) return;
    std::vector<float> scratch;
    for (std::size_t r = 0; r < logits.shape()[0]; ++r) {
      auto row = xt::view(logits, r, xt::all());
      const float floor = detail::kth_largest(detail::row_of(logits, r), k, scratch);
      row = xt::where(row < floor, detail::kMasked, row);
    }
  }
  void describe(Settings& out) const { out.push_back({"top_k", std::uint64_t{k}}); }
};

// Keeps each row's most likely tokens until their probability mass reaches p; the others are masked.
struct TopP {
  double p = 1.0;
  template <class Tensor>
  void apply(Tensor& logits, std::span<const Token>) const {
    if (p >= 1.0) return;
    const std::size_t vocab = logits.shape()[1];
    std::vector<std::size_t> order(vocab);
    for (std::size_t r = 0; r < logits.shape()[0]; ++r) {
      const std::span<float> row = detail::row_of(logits, r);
      const double log_z = log_sum_exp(row.data(), vocab);
      std::iota(order.begin(), order.end(), std::size_t{0});
      auto higher = [&](std::size_t a, std::size_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); };
      // Only the head is sorted, grown until it holds the mass: a few hundred tokens, not the vocabulary.
      double mass = 0.0;
      std::size_t kept = 0;
      for (std::size_t sorted = 0, head = std::min<std::size_t>(256, vocab); kept < vocab && mass < p;) {
        if (kept == sorted) {
          std::partial_sort(order.begin() + static_cast<std::ptrdiff_t>(sorted),
                            order.begin() + static_cast<std::ptrdiff_t>(head), order.end(), higher);
          sorted = head;
          head = std::min(vocab, head * 4);
        }
        mass += std::exp(static_cast<double>(row[order[kept++]]) - log_z);
      }
      for (std::size_t i = kept; i < vocab; ++i) row[order[i]] = detail::kMasked;
    }
  }
  void describe(Settings& out) const { out.push_back({"top_p", p}); }
};

// Keeps the tokens whose probability is at least p times the most likely one's; the others are masked.
struct MinP {
  double p = 0.0;  // 0: off
  template <class Tensor>
  void apply(Tensor& logits, std::span<const Token>) const {
    if (p <= 0.0) return;
    for (std::size_t r = 0; r < logits.shape()[0]; ++r) {
      auto row = xt::view(logits, r, xt::all());
      const auto top = kernels::row_max(detail::row_of(logits, r).data(), logits.shape()[1]);
      const float floor = top.value + static_cast<float>(std::log(p));
      row = xt::where(row < floor, detail::kMasked, row);
    }
  }
  void describe(Settings& out) const { out.push_back({"min_p", p}); }
};

// Lowers the logits of the tokens already written (each once): a positive logit is divided by the
// penalty, a negative one multiplied (CTRL's rule, as Hugging Face applies it). 1: off.
struct RepetitionPenalty {
  double penalty = 1.0;
  template <class Tensor>
  void apply(Tensor& logits, std::span<const Token> written) const {
    for (std::size_t r = 0; r < logits.shape()[0]; ++r)
      penalize_repeats(detail::row_of(logits, r).data(), logits.shape()[1], written, penalty);
  }
  void describe(Settings& out) const { out.push_back({"repetition_penalty", penalty}); }
};

// Adds a fixed bias to the logits of given tokens (-infinity bans a token).
struct LogitBias {
  std::vector<std::pair<Token, float>> bias;
  template <class Tensor>
  void apply(Tensor& logits, std::span<const Token>) const {
    for (std::size_t r = 0; r < logits.shape()[0]; ++r)
      for (const auto& [t, b] : bias)
        if (t >= 0 && static_cast<std::size_t>(t) < logits.shape()[1]) logits(r, static_cast<std::size_t>(t)) += b;
  }
  void describe(Settings& out) const { out.push_back({"logit_bias_tokens", std::uint64_t{bias.size()}}); }
};

using LogitsProcessor = std::variant<Temperature, TopK, TopP, MinP, RepetitionPenalty, LogitBias>;

// Runs the processors in order over a block; `written`: the answer's tokens so far.
template <class Tensor>
void apply_processors(std::span<const LogitsProcessor> processors, Tensor& logits, std::span<const Token> written) {
  for (const auto& p : processors) std::visit([&](const auto& step) { step.apply(logits, written); }, p);
}

// A TokenSampler: processors over a copy of the row, then `Inner` picks (greedy or sampling, with
// its own seed). It remembers the tokens it picked since reset(), for the repetition penalty.
template <TokenSampler Inner = Sampler>
class ProcessedSampler {
 public:
  explicit ProcessedSampler(std::vector<LogitsProcessor> processors, Inner inner = {})
      : processors_(std::move(processors)), inner_(std::move(inner)) {}

  // The reference's sampling (temperature, top-p, top-k: wsd::Sampler) after params' repetition penalty.
  static ProcessedSampler from(SamplingParams params) requires std::same_as<Inner, Sampler> {
    std::vector<LogitsProcessor> steps;
    if (params.repetition_penalty != 1.0) steps.emplace_back(RepetitionPenalty{params.repetition_penalty});
    params.repetition_penalty = 1.0;
    return ProcessedSampler(std::move(steps), Sampler(params));
  }

  Token sample(const float* row, std::size_t vocab) {
    const float* picked_from = row;
    if (!processors_.empty()) {
      buffer_.assign(row, row + vocab);
      auto logits = view(buffer_.data(), 1, vocab);
      apply_processors(processors_, logits, written_);
      picked_from = buffer_.data();
    }
    const Token t = inner_.sample(picked_from, vocab);
    written_.push_back(t);
    return t;
  }
  void reset() {
    inner_.reset();
    written_.clear();
  }
  void describe(Settings& out) const {
    describe_part(inner_, out);
    for (const auto& p : processors_) std::visit([&](const auto& step) { step.describe(out); }, p);
  }

 private:
  std::vector<LogitsProcessor> processors_;
  Inner inner_;
  std::vector<Token> written_;
  std::vector<float> buffer_;
};

}  // namespace wsd
