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
#include <utility>
#include <vector>

#include "wsd/concepts.hpp"
#include "wsd/stop_strings.hpp"
#include "wsd/stream.hpp"
#include "wsd/text_bridge.hpp"
#include "wsd/timing.hpp"

namespace wsd {

// A sequence held by value, or by reference as std::reference_wrapper<S>.
template <class S>
concept ScoringSequenceOrRef = ScoringSequence<std::remove_reference_t<std::unwrap_reference_t<S>>>;

template <ScoringSequenceOrRef Sequence, PromptTemplate Template>
class StrongModel {
  using Model = std::remove_reference_t<std::unwrap_reference_t<Sequence>>;
  // A model that keeps its own counters (FullRowScorer does) is not counted or timed here.
  static constexpr bool kCounts = requires(const Model& m) { { m.processed() } -> std::convertible_to<std::size_t>; };
  static constexpr bool kTimes = requires(const Model& m) { { m.seconds() } -> std::convertible_to<double>; };

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
    p.ends_in_answer_prefix = !answer_prefix(conversation).empty();
    p.tokens = timed([&] { return tokenize_with_bos(model(), p.text); });
    return p;
  }

  // The strong tokens of prompt + draft; by text (different vocabularies) or by id (shared).
  BridgedDraft bridge(const StrongPrompt& p, const DraftView& draft) const {
    if (shared_vocabulary_) return bridge_tokens(p, draft);
    return timed([&] { return bridge_text(model(), p, draft); });
  }

  // A new response, or the reference's re-read: the model drops what it holds and reads its
  // next context from scratch (the prompt comes with the first drafted tokens it scores).
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
    count_read(context, targets);
    return p;
  }

  // Writes at most max_tokens after the context (prompt + kept draft), until an end token, a stop
  // string in the answer or a cancel; streams the answer's final text as it is written.
  Continuation continue_writing(std::span<const Token> context, std::size_t max_tokens, AnswerStream& stream) {
    Continuation out;
    if (stream.cancelled()) {
      out.reason = ContinuationEnd::cancelled;
      return out;
    }
    const double model_before = model_seconds();
    count_read(context, {});
    const WriteEnd end = timed([&] {
      if constexpr (TextWriter<Model>) {
        const WriteEnd e = model().write_text(context, max_tokens, [&](std::string_view piece) {
          if constexpr (kTimes) return accept_text(piece, out, stream);
          const ScopedTimer callback(callback_seconds_);
          return accept_text(piece, out, stream);
        });
        out.tokens = model().tokenize(out.text);  // the server's tokens of what it wrote
        if constexpr (!kCounts) processed_ += out.tokens.size();
        return e;
      } else {
        return model().write(context, max_tokens, [&](Token t) {
          if constexpr (kTimes) return accept_written(t, out, stream);
          const ScopedTimer callback(callback_seconds_);  // the decoder's time, not the model's
          return accept_written(t, out, stream);
        });
      }
    });
    write_seconds_ += model_seconds() - model_before;
    if (end == WriteEnd::eos) out.reason = ContinuationEnd::eos;
    if (end == WriteEnd::length) out.reason = ContinuationEnd::length;
    if (!stream.finish() && out.reason != ContinuationEnd::stop) out.reason = ContinuationEnd::cancelled;
    held_.clear();  // what the model holds after writing is its business; count the next read whole
    return out;
  }

  std::string detokenize(std::span<const Token> tokens) const { return timed([&] { return model().detokenize(tokens); }); }
  std::string_view cut_at_stop(std::string_view text) const { return stops_.cut(text); }
  const StopStrings& stops() const { return stops_; }
  // Tokens the model read or wrote; its own count when it keeps one (a cache shares prefixes).
  std::size_t processed() const {
    if constexpr (kCounts) return model().processed();
    else return processed_;
  }
  // Time inside the model: its own figure when it keeps one, else the time of the calls to it.
  double seconds() const { return model_seconds(); }
  double write_seconds() const { return write_seconds_; }
  Model& model() { return sequence_; }  // a reference_wrapper converts to the model it refers to
  const Model& model() const { return sequence_; }

 private:
  double model_seconds() const {
    if constexpr (kTimes) return model().seconds();
    else return call_seconds_ - callback_seconds_;
  }

  // A call to the model, timed here when the model does not time itself.
  template <class F>
  decltype(auto) timed(F&& f) const {
    if constexpr (kTimes) {
      return f();
    } else {
      ScopedTimer timer(call_seconds_);
      return f();
    }
  }

  // The model's written token: the end of the answer, or its next piece (checked for stop strings
  // and streamed); false stops the writing.
  bool accept_written(Token t, Continuation& out, AnswerStream& stream) {
    if (stream.cancelled()) {
      out.reason = ContinuationEnd::cancelled;
      return false;
    }
    if (model().special_tokens().ends_generation(t)) {
      out.reason = ContinuationEnd::eos;
      return false;
    }
    out.tokens.push_back(t);
    if constexpr (!kCounts) ++processed_;
    return accept_text(model().detokenize(std::span<const Token>(&t, 1)), out, stream);
  }

  // The next piece of the answer's text: checked for stop strings and streamed; false stops.
  bool accept_text(std::string_view piece, Continuation& out, AnswerStream& stream) {
    if (stream.cancelled()) {
      out.reason = ContinuationEnd::cancelled;
      return false;
    }
    const std::size_t old = out.text.size();
    out.text += piece;
    const bool go = stream.write(std::string_view(out.text).substr(old));  // cut there if it completes a stop
    if (stops_.find(out.text, old)) {
      out.reason = ContinuationEnd::stop;
      return false;
    }
    if (!go) {
      out.reason = ContinuationEnd::cancelled;
      return false;
    }
    return true;
  }

  // For a model without its own count: the tokens of context + targets past the prefix it was
  // last given (a cache would share that prefix).
  void count_read(std::span<const Token> context, std::span<const Token> targets) {
    if constexpr (!kCounts) {
      std::vector<Token> now(context.begin(), context.end());
      now.insert(now.end(), targets.begin(), targets.end());
      std::size_t common = 0;
      while (common < held_.size() && common < now.size() && held_[common] == now[common]) ++common;
      held_ = std::move(now);
      processed_ += held_.size() - common;
    }
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
