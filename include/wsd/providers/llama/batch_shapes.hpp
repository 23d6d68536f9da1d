#pragma once
// Measuring batch invariance: whether a model's logits come out bit for bit the same however its
// tokens are grouped into physical batches, on the backend it runs on. What invariance.hpp and
// devices.hpp state was measured with these (wsd-batch-shapes prints the tables; the model and GPU
// tests check samples of them).
//   width_difference: the same tokens read in one call and in calls of uneven sizes, physical
//                     batches of `width` tokens, against each token read alone.
//   mix_difference:   several sequences of different lengths reading tokens in one batch of
//                     physical batches of `width` tokens, against each sequence read alone.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <deque>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "wsd/batch/engine_loop.hpp"
#include "wsd/core/logits.hpp"
#include "wsd/providers/llama/llama_cpp.hpp"

namespace wsd {

// How far two reads' rows are apart.
struct RowDifference {
  bool identical = true;
  double max_logit = 0.0;  // largest |d logit| over every row and token
  double max_p = 0.0;      // largest |d p| of the token that follows, over the rows
  void merge(const RowDifference& o) {
    identical = identical && o.identical;
    max_logit = std::max(max_logit, o.max_logit);
    max_p = std::max(max_p, o.max_p);
  }
};

// The rows read of n tokens: every `stride`-th and the last.
inline std::vector<std::size_t> sampled_rows(std::size_t n, std::size_t stride) {
  std::vector<std::size_t> out;
  for (std::size_t r = 0; r < n; r += stride) out.push_back(r);
  if (n > 0 && out.back() != n - 1) out.push_back(n - 1);
  return out;
}

// Rows a and b (those sampled_rows(tokens.size(), stride) names, `vocab` logits each) compared.
inline RowDifference compare_rows(std::span<const float> a, std::span<const float> b, std::span<const Token> tokens,
                                  std::size_t vocab, std::size_t stride = 1) {
  RowDifference d;
  const std::vector<std::size_t> rows = sampled_rows(tokens.size(), stride);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::size_t r = rows[i];
    const float* x = a.data() + i * vocab;
    const float* y = b.data() + i * vocab;
    for (std::size_t t = 0; t < vocab; ++t) {
      if (x[t] != y[t]) d.identical = false;
      d.max_logit = std::max(d.max_logit, std::fabs(static_cast<double>(x[t]) - static_cast<double>(y[t])));
    }
    if (r + 1 < tokens.size()) {
      const double p = std::exp(log_token_probability(x, vocab, tokens[r + 1]));
      const double q = std::exp(log_token_probability(y, vocab, tokens[r + 1]));
      d.max_p = std::max(d.max_p, std::fabs(p - q));
    }
  }
  return d;
}

// The rows sampled_rows(tokens.size(), stride) names, of `tokens` appended to `seq` in calls of the
// given sizes (the last call takes the rest).
inline std::vector<float> read_rows(LlamaSequence& seq, std::span<const Token> tokens, const std::vector<std::size_t>& calls,
                                    std::size_t stride = 1) {
  const std::vector<std::size_t> rows = sampled_rows(tokens.size(), stride);
  std::vector<float> out;
  std::size_t at = 0, next = 0;
  for (std::size_t i = 0; at < tokens.size(); ++i) {
    const std::size_t n = i < calls.size() ? std::min(calls[i], tokens.size() - at) : tokens.size() - at;
    std::vector<std::size_t> wanted;
    for (; next < rows.size() && rows[next] < at + n; ++next) wanted.push_back(rows[next] - at);
    const LogitsBlock b = run_now(seq.append(tokens.subspan(at, n), wanted));
    out.insert(out.end(), b.data, b.data + wanted.size() * b.vocab);
    at += n;
  }
  return out;
}

// The sampled rows of `tokens` read one token at a time by a fresh sequence of `model`: the reference.
inline std::vector<float> rows_alone(const std::shared_ptr<const LlamaModel>& model, std::span<const Token> tokens,
                                     std::size_t stride = 1) {
  LlamaSequence seq(model);
  return read_rows(seq, tokens, std::vector<std::size_t>(tokens.size(), 1), stride);
}

// `tokens` read by `model` in physical batches of `width` tokens (at most its batch), in one call
// and in calls of 1 to 2 * width tokens (physical batches start anywhere), against `reference`
// (its rows_alone, the same stride).
inline RowDifference width_difference(const std::shared_ptr<const LlamaModel>& model, std::span<const Token> tokens,
                                      std::span<const float> reference, int width, std::size_t stride = 1, unsigned seed = 7) {
  std::mt19937 rng(seed);
  std::vector<std::size_t> uneven;
  for (std::size_t n = 0; n < tokens.size();) uneven.push_back(1 + rng() % static_cast<unsigned>(2 * width)), n += uneven.back();
  RowDifference d;
  for (const auto& calls : {std::vector<std::size_t>{tokens.size()}, uneven}) {
    LlamaSequence seq(std::make_shared<LlamaContext>(model, 1, width), 0);
    d.merge(compare_rows(reference, read_rows(seq, tokens, calls, stride), tokens, model->vocab_size(), stride));
  }
  return d;
}

// Sequences of different lengths for mix_difference: sequence j holds a prefix of 4 + 3j tokens
// and then reads kRead more, each a different stretch of a pool of tokens.
struct SequenceMix {
  static constexpr std::size_t kRead = 16;
  std::vector<std::vector<Token>> texts;  // each sequence's prefix, then the kRead tokens it reads
  static std::size_t prefix(std::size_t j) { return 4 + 3 * j; }
  std::size_t context() const { return prefix(texts.size()) + kRead + 16; }
  std::span<const Token> read(std::size_t j) const { return std::span<const Token>(texts[j]).subspan(prefix(j)); }

  SequenceMix(std::span<const Token> pool, std::size_t sequences) {
    for (std::size_t j = 0; j < sequences; ++j) {
      std::vector<Token> t;
      for (std::size_t i = 0; t.size() < prefix(j) + kRead; ++i) t.push_back(pool[(7 * j + i) % pool.size()]);
      texts.push_back(std::move(t));
    }
  }
};

// Each sequence's rows of its kRead tokens, read alone (one sequence rolled back to nothing before
// each: the prefix in one call, then one token at a time): the reference.
inline std::vector<std::vector<float>> mix_alone(const std::shared_ptr<const LlamaModel>& model, const SequenceMix& mix) {
  std::vector<std::vector<float>> out;
  LlamaSequence seq(model);
  for (std::size_t j = 0; j < mix.texts.size(); ++j) {
    seq.rollback(0);
    run_now(seq.append(std::span<const Token>(mix.texts[j]).first(SequenceMix::prefix(j)), {}));
    out.push_back(read_rows(seq, mix.read(j), std::vector<std::size_t>(SequenceMix::kRead, 1)));
  }
  return out;
}

// All sequences of the mix in one context of `model` (its context at least mix.context()) with
// physical batches of `width` tokens: their prefixes in one batch, then their kRead tokens in
// another, against `alone` (its mix_alone).
inline RowDifference mix_difference(const std::shared_ptr<const LlamaModel>& model, const SequenceMix& mix,
                                    const std::vector<std::vector<float>>& alone, int width) {
  const std::size_t n = mix.texts.size();
  auto context = std::make_shared<LlamaContext>(model, n, width);
  std::deque<LlamaSequence> seqs;
  for (std::size_t j = 0; j < n; ++j) seqs.emplace_back(context, j);
  std::vector<std::vector<float>> together(n);
  auto read = [&](std::size_t j, bool prefix) -> Task<void> {
    const std::span<const Token> t(mix.texts[j]);
    const auto part = prefix ? t.first(SequenceMix::prefix(j)) : mix.read(j);
    std::vector<std::size_t> wanted(prefix ? 0 : part.size());  // no rows of a prefix
    for (std::size_t r = 0; r < wanted.size(); ++r) wanted[r] = r;
    const LogitsBlock b = co_await seqs[j].append(part, wanted);
    if (!prefix) together[j].assign(b.data, b.data + part.size() * b.vocab);
  };
  for (const bool prefix : {true, false}) {
    EngineLoop loop;
    for (std::size_t j = 0; j < n; ++j) loop.spawn(read(j, prefix));
    loop.run_until_idle();
  }
  RowDifference d;
  for (std::size_t j = 0; j < n; ++j) {
    if (together[j].empty()) throw ProviderError(model->path() + ": sequence " + std::to_string(j) + " of the mix read nothing");
    d.merge(compare_rows(alone[j], together[j], mix.read(j), model->vocab_size()));
  }
  return d;
}

}  // namespace wsd
