#pragma once
// The strong (base) model: scores drafted tokens in batches over its KV cache and continues.
#include <algorithm>
#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "wsd/concepts.hpp"
#include "wsd/sampling.hpp"
#include "wsd/stop_strings.hpp"
#include "wsd/text_bridge.hpp"
#include "wsd/timed_provider.hpp"

namespace wsd {

// Why the strong model stopped writing.
enum class ContinuationEnd { eos, stop, length };

// What the strong model wrote after the accepted draft.
struct Continuation {
  std::vector<Token> tokens;
  std::string text;
  ContinuationEnd reason = ContinuationEnd::length;
};

// Receives text as it becomes final (used to stream an answer).
using TextSink = std::function<void(std::string_view)>;

// What the decoder needs from a strong-model policy: prompt(conversation), bridge(...) of a draft,
// extend(sequence, from) -> probabilities of sequence[from..] with the cache left holding the
// sequence, truncate(n), reset(), continue_writing(...), cut_at_stop(text) and counters of its work.
template <class S>
concept StrongModelPolicy = requires(S& s, const S& cs, const Conversation& c, const StrongPrompt& p,
                                     std::span<const Token> tokens, std::string_view text, std::size_t n,
                                     const TextSink& sink) {
  { s.prompt(c) } -> std::same_as<StrongPrompt>;
  { cs.bridge(p, text, tokens, true) } -> std::same_as<BridgedDraft>;
  { s.extend(tokens, n) } -> std::same_as<std::vector<double>>;
  { s.truncate(n) };
  { s.reset() };
  { s.continue_writing(n, text, sink) } -> std::same_as<Continuation>;
  { cs.detokenize(tokens) } -> std::same_as<std::string>;
  { cs.cut_at_stop(text) } -> std::convertible_to<std::string_view>;
  { cs.scored() } -> std::convertible_to<std::size_t>;
  { cs.seconds() } -> std::convertible_to<double>;        // time inside the provider
  { cs.write_seconds() } -> std::convertible_to<double>;  // the part of it spent writing
};

template <LogitsProvider Provider, PromptTemplate Template>
class StrongModel {
 public:
  StrongModel(Provider& provider, Template prompt_template, SamplingParams continuation = {},
              std::vector<std::string> stop_strings = {}, bool shared_vocabulary = false)
      : provider_(provider), template_(std::move(prompt_template)), sampler_(continuation),
        stops_(std::move(stop_strings)), shared_vocabulary_(shared_vocabulary) {}

  StrongPrompt prompt(const Conversation& conversation) {
    StrongPrompt p;
    p.text = template_.render(conversation);
    p.tokens = tokenize_with_bos(provider_, p.text);
    return p;
  }

  // The strong tokens of prompt + draft; by text (different vocabularies) or by id (shared).
  BridgedDraft bridge(const StrongPrompt& p, std::string_view draft_text, std::span<const Token> weak_tokens,
                      bool draft_ended) const {
    if (shared_vocabulary_) return bridge_tokens(p, weak_tokens);
    return bridge_text(provider_, p, draft_text, draft_ended);
  }

  // Leaves the cache holding exactly `sequence` and returns P(sequence[i] | sequence[..i]) for
  // i in [from, size); from >= 1. Shares the cached common prefix; scores new tokens in one call.
  std::vector<double> extend(std::span<const Token> sequence, std::size_t from) {
    if (sequence.empty() || from == 0 || from > sequence.size())
      throw std::invalid_argument("StrongModel::extend: from must be in [1, sequence size]");
    std::size_t common = 0;
    while (common < cached_.size() && common < sequence.size() && cached_[common] == sequence[common]) ++common;
    std::vector<double> probs;
    probs.reserve(sequence.size() - from);
    std::size_t start;  // first position to append
    if (common == cached_.size() && common == from && next_row_) {
      start = common;
      if (start < sequence.size()) probs.push_back(probability(next_row_, sequence[start]));
    } else {
      start = std::min(common, from) - (std::min(common, from) > 0 ? 1 : 0);
    }
    rollback(start);
    if (start == sequence.size()) return probs;
    // Rows wanted: every appended position from (from - 1) on; the last one predicts what follows.
    rows_.clear();
    for (std::size_t pos = std::max(start, from - 1); pos < sequence.size(); ++pos) rows_.push_back(pos - start);
    const LogitsBlock block = append(sequence.subspan(start), rows_);
    for (std::size_t r = 0; r + 1 < block.rows; ++r) {
      const std::size_t target = start + rows_[r] + 1;
      if (target >= from && target < sequence.size()) probs.push_back(probability(block.row(r), sequence[target]));
    }
    return probs;
  }

  // Shortens the cache to n tokens, keeping the logits that predict token n when it has them.
  void truncate(std::size_t n) {
    if (n >= cached_.size()) return;
    const float* row = nullptr;
    if (n > 0 && n - 1 >= block_start_)
      for (std::size_t r = 0; r < block_.rows; ++r)
        if (block_start_ + rows_[r] == n - 1) row = block_.row(r);
    if (row) {
      kept_row_.assign(row, row + block_.vocab);
      rollback(n);
      next_row_ = kept_row_.data();
    } else {
      rollback(n);
    }
  }

  void reset() {
    rollback(0);
    sampler_.reset();
  }

  // Writes at most max_tokens after the cached sequence, until an end token or a stop string in
  // the text written here; `before` is the accepted text, so streamed text can be cut correctly.
  Continuation continue_writing(std::size_t max_tokens, std::string_view before = {}, const TextSink& sink = {}) {
    struct WriteClock {  // the model time of this call is writing time
      const TimedProvider<Provider>& provider;
      double& writing;
      const double start;
      ~WriteClock() { writing += provider.seconds() - start; }
    } write_clock{provider_, write_seconds_, provider_.seconds()};
    Continuation out;
    if (max_tokens == 0) return out;
    if (!next_row_) {  // the logits after the last cached token were not kept: recompute them
      const Token last = cached_.back();
      rollback(cached_.size() - 1);
      rows_.assign(1, 0);
      append(std::span<const Token>(&last, 1), rows_);
    }
    std::string streamed_upto(before);
    std::size_t emitted = 0;
    while (true) {
      const Token t = sampler_.sample(next_row_, provider_.vocab_size());
      if (provider_.special_tokens().ends_generation(t)) {
        out.reason = ContinuationEnd::eos;
        break;
      }
      const std::size_t old = out.text.size();
      out.tokens.push_back(t);
      out.text += detokenize(std::span<const Token>(&t, 1));
      if (stops_.find(out.text, old)) {
        out.reason = ContinuationEnd::stop;
        break;
      }
      if (sink) emit(sink, before, out.text, emitted, false);
      if (out.tokens.size() >= max_tokens) break;
      rows_.assign(1, 0);
      append(std::span<const Token>(&t, 1), rows_);
    }
    if (sink) emit(sink, before, out.text, emitted, true);
    return out;
  }

  std::string detokenize(std::span<const Token> tokens) const { return provider_.detokenize(tokens); }
  std::string_view cut_at_stop(std::string_view text) const { return stops_.cut(text); }
  std::size_t scored() const { return appended_; }
  // Time inside the provider (the model and its tokenizer); sampling and probabilities are the decoder's.
  double seconds() const { return provider_.seconds(); }
  double write_seconds() const { return write_seconds_; }  // the part of seconds() spent in continue_writing
  void clear_counters() {
    appended_ = 0;
    provider_.reset_seconds();
    write_seconds_ = 0.0;
  }
  std::span<const Token> cached() const { return cached_; }

 private:
  double probability(const float* row, Token t) const { return token_probability(row, provider_.vocab_size(), t); }

  void rollback(std::size_t n) {
    if (n < cached_.size() || provider_.length() != n) {
      provider_.rollback(n);
      cached_.resize(std::min(n, cached_.size()));
      next_row_ = nullptr;
      block_ = {};
      block_start_ = 0;
    }
  }

  LogitsBlock append(std::span<const Token> tokens, const std::vector<std::size_t>& rows) {
    block_start_ = cached_.size();
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

  // Emits the part of the continuation that is final: the whole answer cut at its first stop
  // string, minus what could still become one.
  void emit(const TextSink& sink, std::string_view before, std::string_view text, std::size_t& emitted,
            bool done) const {
    std::string all(before);
    all += text;
    std::string_view final_text = stops_.cut(all);
    std::size_t upto = done ? final_text.size() : stops_.safe_prefix(final_text);
    upto = std::max(upto, before.size());
    if (upto > before.size() + emitted) {
      sink(std::string_view(all).substr(before.size() + emitted, upto - before.size() - emitted));
      emitted = upto - before.size();
    }
  }

  TimedProvider<Provider> provider_;
  Template template_;
  Sampler sampler_;
  StopStrings stops_;
  bool shared_vocabulary_;
  std::vector<Token> cached_;
  std::vector<std::size_t> rows_;
  LogitsBlock block_;
  std::size_t block_start_ = 0;
  const float* next_row_ = nullptr;
  std::vector<float> kept_row_;
  std::size_t appended_ = 0;
  double write_seconds_ = 0.0;
};

}  // namespace wsd
