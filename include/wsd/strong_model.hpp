#pragma once
// The strong (base) model as the decoder drives it: its prompt, the bridge from a draft to its
// tokens, probabilities of drafted tokens, and the continuation with stop strings and streaming.
// It talks to the model through the scoring contract (ScoringSequence) only.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "wsd/concepts.hpp"
#include "wsd/stop_strings.hpp"
#include "wsd/stream.hpp"
#include "wsd/text_bridge.hpp"
#include "wsd/timing.hpp"

namespace wsd {

namespace detail {
template <class T>
struct Unwrap {
  using type = T;
  static T& get(T& t) { return t; }
  static const T& get(const T& t) { return t; }
};
template <class T>
struct Unwrap<std::reference_wrapper<T>> {
  using type = T;
  static T& get(const std::reference_wrapper<T>& t) { return t.get(); }
};
}  // namespace detail

// A sequence held by value, or by reference as std::reference_wrapper<S>.
template <class S>
concept ScoringSequenceOrRef = ScoringSequence<typename detail::Unwrap<S>::type>;

template <ScoringSequenceOrRef Sequence, PromptTemplate Template>
class StrongModel {
  using Model = typename detail::Unwrap<Sequence>::type;

 public:
  StrongModel(Sequence sequence, Template prompt_template, std::vector<std::string> stop_strings = {},
              bool shared_vocabulary = false)
      : sequence_(std::move(sequence)), template_(std::move(prompt_template)), stops_(std::move(stop_strings)),
        shared_vocabulary_(shared_vocabulary) {}
  StrongModel(const StrongModel&) = delete;
  StrongModel& operator=(const StrongModel&) = delete;
  StrongModel(StrongModel&&) noexcept = default;

  StrongPrompt prompt(const Conversation& conversation) const {
    StrongPrompt p;
    p.text = template_.render(conversation);
    p.tokens = timed([&] { return tokenize_with_bos(model(), p.text); });
    return p;
  }

  // The strong tokens of prompt + draft; by text (different vocabularies) or by id (shared).
  BridgedDraft bridge(const StrongPrompt& p, const DraftView& draft) const {
    if (shared_vocabulary_) return bridge_tokens(p, draft);
    return timed([&] { return bridge_text(model(), p, draft); });
  }

  // A new response (the model reads the prompt with the first drafted tokens it scores).
  void start() {
    timed([&] { model().reset(); });
    held_.clear();
  }

  // P(targets[i] | context, targets[..i]) for each drafted target, from the model's own
  // distribution (never a sampler's).
  std::vector<double> probabilities(std::span<const Token> context, std::span<const Token> targets) {
    if (targets.empty()) return {};  // nothing to ask the model
    std::vector<double> p = timed([&] { return model().score(context, targets); });
    if (p.size() != targets.size())
      throw ProviderError("strong model returned " + std::to_string(p.size()) + " log-probabilities for " +
                          std::to_string(targets.size()) + " targets");
    for (double& x : p) {
      if (!(x <= 0.0))  // NaN or positive
        throw ProviderError("strong model returned log p = " + std::to_string(x) + ", not a log-probability");
      x = std::exp(x);
    }
    processed_ += tokens_read(context, targets);
    return p;
  }

  // Drops what the model holds: the next call reads its context from scratch (the reference's re-read).
  void forget() {
    timed([&] { model().reset(); });
    held_.clear();
  }

  // Writes at most max_tokens after the context (prompt + kept draft, whose text is `kept`), until an
  // end token, a stop string in the answer or a cancel; streams the answer's final text as it is written.
  Continuation continue_writing(std::span<const Token> context, std::string_view kept, std::size_t max_tokens,
                                AnswerStream& stream) {
    Continuation out;
    if (stream.cancelled()) {
      out.reason = ContinuationEnd::cancelled;
      if (!stream.continuation(kept, {}, true)) out.reason = ContinuationEnd::cancelled;
      return out;
    }
    const double model_before = model_seconds();
    processed_ += tokens_read(context, {});
    const WriteEnd end = timed([&] {
      return model().write(context, max_tokens, [&](Token t) {
        const double callback_start = now();
        const bool go = accept_written(t, kept, out, stream);
        callback_seconds_ += now() - callback_start;
        return go;
      });
    });
    write_seconds_ += model_seconds() - model_before;
    if (end == WriteEnd::eos) out.reason = ContinuationEnd::eos;
    if (end == WriteEnd::length) out.reason = ContinuationEnd::length;
    if (!stream.continuation(kept, out.text, true) && out.reason != ContinuationEnd::stop)
      out.reason = ContinuationEnd::cancelled;
    held_.clear();  // what the model holds after writing is its business; count the next read whole
    return out;
  }

  std::string detokenize(std::span<const Token> tokens) const { return timed([&] { return model().detokenize(tokens); }); }
  std::string_view cut_at_stop(std::string_view text) const { return stops_.cut(text); }
  const StopStrings& stops() const { return stops_; }
  // Tokens the model read or wrote; its own count when it keeps one (a cache shares prefixes).
  std::size_t processed() const {
    if constexpr (requires(const Model& m) { { m.processed() } -> std::convertible_to<std::size_t>; })
      return model().processed();
    else
      return processed_;
  }
  // Time inside the model: its own figure when it keeps one, else the time of the calls to it.
  double seconds() const { return model_seconds(); }
  double write_seconds() const { return write_seconds_; }
  Model& model() { return detail::Unwrap<Sequence>::get(sequence_); }
  const Model& model() const { return detail::Unwrap<Sequence>::get(sequence_); }

 private:
  static double now() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

  double model_seconds() const {
    if constexpr (requires(const Model& m) { { m.seconds() } -> std::convertible_to<double>; })
      return model().seconds();
    else
      return call_seconds_ - callback_seconds_;
  }

  template <class F>
  decltype(auto) timed(F&& f) const {
    ScopedTimer timer(call_seconds_);
    return f();
  }

  // The model's written token: the end of the answer, or its next piece (checked for stop strings
  // and streamed); false stops the writing.
  bool accept_written(Token t, std::string_view kept, Continuation& out, AnswerStream& stream) {
    if (stream.cancelled()) {
      out.reason = ContinuationEnd::cancelled;
      return false;
    }
    if (model().special_tokens().ends_generation(t)) {
      out.reason = ContinuationEnd::eos;
      return false;
    }
    const std::size_t old = out.text.size();
    out.tokens.push_back(t);
    out.text += model().detokenize(std::span<const Token>(&t, 1));
    ++processed_;
    if (stops_.find(out.text, old)) {
      out.reason = ContinuationEnd::stop;
      return false;
    }
    if (!stream.continuation(kept, out.text, false)) {
      out.reason = ContinuationEnd::cancelled;
      return false;
    }
    return true;
  }

  // Tokens of context + targets past the prefix the model was last given (a cache would share it).
  std::size_t tokens_read(std::span<const Token> context, std::span<const Token> targets) {
    std::vector<Token> now(context.begin(), context.end());
    now.insert(now.end(), targets.begin(), targets.end());
    std::size_t common = 0;
    while (common < held_.size() && common < now.size() && held_[common] == now[common]) ++common;
    held_ = std::move(now);
    return held_.size() - common;
  }

  Sequence sequence_;
  Template template_;
  StopStrings stops_;
  bool shared_vocabulary_;
  std::vector<Token> held_;
  std::size_t processed_ = 0;
  mutable double call_seconds_ = 0.0;
  double callback_seconds_ = 0.0;
  double write_seconds_ = 0.0;
};

}  // namespace wsd
