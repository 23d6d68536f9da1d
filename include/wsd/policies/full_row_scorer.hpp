#pragma once
// FullRowScorer: the scoring contract (log p of given targets, writing with a sampler) built from
// any full-row LogitsProvider, over its KV cache. It holds the sequence's one token history.
#include <cmath>
#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "wsd/core/concepts.hpp"
#include "wsd/core/errors.hpp"
#include "wsd/core/logits.hpp"
#include "wsd/core/settings.hpp"
#include "wsd/core/task.hpp"
#include "wsd/sampling/sampler.hpp"

namespace wsd {

template <LogitsProvider Provider, TokenSampler Sampler = wsd::Sampler>
class FullRowScorer {
 public:
  explicit FullRowScorer(Provider& provider, Sampler sampler = {})
      : provider_(provider), sampler_(std::move(sampler)) {}
  FullRowScorer(const FullRowScorer&) = delete;
  FullRowScorer& operator=(const FullRowScorer&) = delete;
  FullRowScorer(FullRowScorer&&) noexcept = default;

  // Vocabulary: the provider's.
  std::size_t vocab_size() const { return model().vocab_size(); }
  decltype(auto) special_tokens() const { return model().special_tokens(); }
  std::vector<Token> tokenize(std::string_view text) const { return model().tokenize(text); }
  decltype(auto) token_text(Token t) const { return model().token_text(t); }
  std::string detokenize(std::span<const Token> tokens) const { return model().detokenize(tokens); }

  void reset() {
    rollback(0);
    sampler_.reset();
  }
  // The sampling write() uses: a sampler built from the parameters, where the sampler type takes
  // them (wsd::Sampler); a custom TokenSampler is given to the constructor instead.
  void set_sampling(const SamplingParams& params) {
    if constexpr (std::constructible_from<Sampler, SamplingParams>)
      sampler_ = Sampler(params);
    else
      throw ConfigError("FullRowScorer::set_sampling: its sampler is a custom TokenSampler, which takes no "
                        "SamplingParams (give the sampler to the constructor)");
  }

  // log P(targets[i] | context, targets[..i]) for each i; the cache then holds context + targets.
  Task<std::vector<double>> score(std::span<const Token> context, std::span<const Token> targets) {
    co_await prefill(context);
    std::vector<double> out;
    out.reserve(targets.size());
    if (targets.empty()) co_return out;
    if (const float* row = next_row()) out.push_back(log_probability(row, targets[0]));
    const std::size_t first = out.size();  // 1: targets[0] was predicted by the row at hand
    const LogitsBlock block = co_await append_all_rows(targets);
    for (std::size_t i = first; i < targets.size(); ++i)
      out.push_back(log_probability(block.row(i - first), targets[i]));
    co_return out;
  }

  // Samples up to max_tokens after the context, one on_token call each, until it returns false.
  Task<WriteEnd> write(std::span<const Token> context, std::size_t max_tokens, const TokenCallback& on_token) {
    co_await prefill(context);
    if (max_tokens == 0) co_return WriteEnd::length;
    if (!next_row()) co_await append_all_rows({});  // recompute the row after the last context token
    for (std::size_t written = 0;;) {
      const Token t = sampler_.sample(next_row(), vocab_size());
      if (!on_token(t)) co_return WriteEnd::callback;
      if (++written >= max_tokens) co_return WriteEnd::length;
      co_await append_all_rows(std::span<const Token>(&t, 1));
    }
  }

  // Its parameters: the continuation sampler's.
  void describe(Settings& out) const {
    describe_part(sampler_, out, "continuation.");
    describe_part(model(), out, "strong_model.");
  }

 private:
  Provider& model() { return provider_.get(); }
  const Provider& model() const { return provider_.get(); }
  double log_probability(const float* row, Token t) const { return log_token_probability(row, vocab_size(), t); }

  // The row that predicts the token after the history, when it is at hand: the last row of the
  // provider's last block (valid until the next append or rollback, which only this scorer makes),
  // or a copy kept across a rollback.
  const float* next_row() const {
    switch (next_) {
      case Next::in_block:
        return block_.row(block_.rows - 1);
      case Next::kept:
        return kept_row_.data();
      case Next::none:
        break;
    }
    return nullptr;
  }

  // Leaves the cache holding exactly `context`, sharing the prefix it already holds; the row that
  // predicts the token after the context is kept when the cache had it.
  Task<void> prefill(std::span<const Token> context) {
    std::size_t common = 0;
    while (common < history_.size() && common < context.size() && history_[common] == context[common]) ++common;
    if (common < history_.size()) truncate(common);
    if (common < context.size()) {
      const std::size_t last = context.size() - common - 1;
      co_await append(context.subspan(common), std::span<const std::size_t>(&last, 1));
    }
  }

  // Appends tokens with the row of each. Without the row that predicts tokens[0] at hand, the last
  // cached token is read again first: row i then predicts tokens[i], otherwise tokens[i + 1].
  Task<LogitsBlock> append_all_rows(std::span<const Token> tokens) {
    if (next_row()) co_return co_await append(tokens, all_rows(tokens.size()));
    if (history_.empty()) throw ProviderError("cannot score or write after an empty context");
    std::vector<Token> batch{history_.back()};
    batch.insert(batch.end(), tokens.begin(), tokens.end());
    rollback(history_.size() - 1);
    co_return co_await append(batch, all_rows(batch.size()));
  }

  std::span<const std::size_t> all_rows(std::size_t n) {
    for (std::size_t i = rows_.size(); i < n; ++i) rows_.push_back(i);
    return std::span<const std::size_t>(rows_).first(n);
  }

  // Shortens the cache to n tokens, keeping the logits that predict token n when they are at hand.
  void truncate(std::size_t n) {
    const float* row = nullptr;
    if (n > 0 && n - 1 >= block_start_)
      for (std::size_t r = 0; r < block_.rows; ++r)
        if (block_start_ + block_rows_[r] == n - 1) row = block_.row(r);
    if (row) kept_row_.assign(row, row + block_.vocab);
    rollback(n);
    if (row) next_ = Next::kept;
  }

  void rollback(std::size_t n) {
    if (n < history_.size() || model().length() != n) {
      model().rollback(n);
      history_.resize(std::min(n, history_.size()));
      next_ = Next::none;
      block_ = {};
      block_start_ = 0;
    }
  }

  Task<LogitsBlock> append(std::span<const Token> tokens, std::span<const std::size_t> rows) {
    block_start_ = history_.size();
    block_rows_.assign(rows.begin(), rows.end());
    block_ = co_await appending(model(), tokens, rows);
    if (block_.rows != rows.size() || block_.vocab != model().vocab_size())
      throw ProviderError("strong provider returned a " + std::to_string(block_.rows) + " x " +
                          std::to_string(block_.vocab) + " logits block, expected " + std::to_string(rows.size()) +
                          " x " + std::to_string(model().vocab_size()));
    history_.insert(history_.end(), tokens.begin(), tokens.end());
    next_ = (!rows.empty() && rows.back() == tokens.size() - 1) ? Next::in_block : Next::none;
    co_return block_;
  }

  enum class Next { none, in_block, kept };

  std::reference_wrapper<Provider> provider_;
  Sampler sampler_;
  std::vector<Token> history_;  // what the provider's cache holds
  std::vector<std::size_t> rows_, block_rows_;
  LogitsBlock block_;
  std::size_t block_start_ = 0;
  Next next_ = Next::none;
  std::vector<float> kept_row_;
};

}  // namespace wsd
