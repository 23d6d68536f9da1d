#pragma once
// FullRowScorer: the scoring contract (log p of given targets, writing with a sampler) built from
// any full-row LogitsProvider, over its KV cache.
#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "wsd/concepts.hpp"
#include "wsd/errors.hpp"
#include "wsd/logits.hpp"
#include "wsd/sampling.hpp"
#include "wsd/timed_provider.hpp"

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
  std::size_t vocab_size() const { return provider_.vocab_size(); }
  decltype(auto) special_tokens() const { return provider_.special_tokens(); }
  std::vector<Token> tokenize(std::string_view text) const { return provider_.tokenize(text); }
  decltype(auto) token_text(Token t) const { return provider_.token_text(t); }
  std::string detokenize(std::span<const Token> tokens) const { return provider_.detokenize(tokens); }

  void reset() {
    rollback(0);
    sampler_.reset();
  }

  // log P(targets[i] | context, targets[..i]) for each i; the cache then holds context + targets.
  std::vector<double> score(std::span<const Token> context, std::span<const Token> targets) {
    prefill(context);
    std::vector<double> out;
    out.reserve(targets.size());
    if (targets.empty()) return out;
    if (next_row_) out.push_back(log_probability(next_row_, targets[0]));
    const std::size_t first = out.size();  // 1: targets[0] was predicted by the kept row
    const LogitsBlock block = append_all_rows(targets);
    for (std::size_t i = first; i < targets.size(); ++i) out.push_back(log_probability(block.row(i - first), targets[i]));
    return out;
  }

  // Samples up to max_tokens after the context, one on_token call each, until it returns false.
  WriteEnd write(std::span<const Token> context, std::size_t max_tokens, const TokenCallback& on_token) {
    prefill(context);
    if (max_tokens == 0) return WriteEnd::length;
    if (!next_row_) append_all_rows({});  // recompute the row after the last context token
    for (std::size_t written = 0;;) {
      const Token t = sampler_.sample(next_row_, vocab_size());
      if (!on_token(t)) return WriteEnd::callback;
      if (++written >= max_tokens) return WriteEnd::length;
      append_all_rows(std::span<const Token>(&t, 1));
    }
  }

  // Tokens appended to the provider (prompt, draft, re-reads and written ones), and the time inside it.
  std::size_t processed() const { return appended_; }
  double seconds() const { return provider_.seconds(); }

 private:
  double log_probability(const float* row, Token t) const { return log_token_probability(row, vocab_size(), t); }

  // Leaves the cache holding exactly `context`, sharing the prefix it already holds; the row that
  // predicts the token after the context is kept when the cache had it.
  void prefill(std::span<const Token> context) {
    std::size_t common = 0;
    while (common < cached_.size() && common < context.size() && cached_[common] == context[common]) ++common;
    if (common < cached_.size()) truncate(common);
    if (common < context.size()) {
      const std::size_t last = context.size() - common - 1;
      append(context.subspan(common), std::span<const std::size_t>(&last, 1));
    }
  }

  // Appends tokens with the row of each. Without the row that predicts tokens[0] at hand, the last
  // cached token is read again first: row i then predicts tokens[i], otherwise tokens[i + 1].
  LogitsBlock append_all_rows(std::span<const Token> tokens) {
    if (next_row_) return append(tokens, all_rows(tokens.size()));
    if (cached_.empty()) throw ProviderError("cannot score or write after an empty context");
    std::vector<Token> batch{cached_.back()};
    batch.insert(batch.end(), tokens.begin(), tokens.end());
    rollback(cached_.size() - 1);
    return append(batch, all_rows(batch.size()));
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
    if (row) {
      kept_row_.assign(row, row + block_.vocab);
      rollback(n);
      next_row_ = kept_row_.data();
    } else {
      rollback(n);
    }
  }

  void rollback(std::size_t n) {
    if (n < cached_.size() || provider_.length() != n) {
      provider_.rollback(n);
      cached_.resize(std::min(n, cached_.size()));
      next_row_ = nullptr;
      block_ = {};
      block_start_ = 0;
    }
  }

  LogitsBlock append(std::span<const Token> tokens, std::span<const std::size_t> rows) {
    block_start_ = cached_.size();
    block_rows_.assign(rows.begin(), rows.end());
    block_ = provider_.append(tokens, rows);
    if (block_.rows != rows.size() || block_.vocab != provider_.vocab_size())
      throw ProviderError("strong provider returned a " + std::to_string(block_.rows) + " x " +
                          std::to_string(block_.vocab) + " logits block, expected " + std::to_string(rows.size()) +
                          " x " + std::to_string(provider_.vocab_size()));
    cached_.insert(cached_.end(), tokens.begin(), tokens.end());
    appended_ += tokens.size();
    next_row_ = (!rows.empty() && rows.back() == tokens.size() - 1) ? block_.row(block_.rows - 1) : nullptr;
    return block_;
  }

  TimedProvider<Provider> provider_;
  Sampler sampler_;
  std::vector<Token> cached_;
  std::vector<std::size_t> rows_, block_rows_;
  LogitsBlock block_;
  std::size_t block_start_ = 0;
  const float* next_row_ = nullptr;
  std::vector<float> kept_row_;
  std::size_t appended_ = 0;
};

}  // namespace wsd
