#pragma once
// The strong (base) model as the decoder drives it: its prompt, the bridge from a draft to its
// tokens, probabilities of drafted tokens, and the continuation with stop strings and streaming.
// It talks to the model through the scoring contract (ScoringSequence) only, and owns its
// parameters (prompt template, stop strings, shared vocabulary; the sequence's sampler). Its
// tokenizer's calls are awaited like the model's (a tokenizer on a server answers with a Task), so
// an engine loop is never held up by one.
#include <cmath>
#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "wsd/core/concepts.hpp"
#include "wsd/core/settings.hpp"
#include "wsd/core/stream.hpp"
#include "wsd/core/task.hpp"
#include "wsd/text/bridge.hpp"
#include "wsd/text/prompt_templates.hpp"
#include "wsd/core/stop_strings.hpp"

namespace wsd {

// A sequence held by value, or by reference as std::reference_wrapper<S>.
template <class S>
concept ScoringSequenceOrRef = ScoringSequence<std::remove_reference_t<std::unwrap_reference_t<S>>>;

// Default: the reference's plain-text blocks and its base-model stop strings.
template <ScoringSequenceOrRef Sequence, PromptTemplate Template = BaseModelTemplate>
class StrongModel {
  using Model = std::remove_reference_t<std::unwrap_reference_t<Sequence>>;

 public:
  explicit StrongModel(Sequence sequence, Template prompt_template = {},
                       std::vector<std::string> stop_strings = base_model_stop_strings(),
                       bool shared_vocabulary = false)
      : sequence_(std::move(sequence)),
        template_(std::move(prompt_template)),
        stops_(std::move(stop_strings)),
        shared_vocabulary_(shared_vocabulary) {}
  StrongModel(const StrongModel&) = delete;
  StrongModel& operator=(const StrongModel&) = delete;
  StrongModel(StrongModel&&) noexcept = default;

  // The prompt's text and its tokens (BOS first). The conversation must outlive the task.
  Task<StrongPrompt> prompt(const Conversation& conversation) const {
    StrongPrompt p;
    p.text = template_.render(conversation);
    p.ends_in_answer_prefix = !answer_prefix(conversation).empty();
    p.tokens = co_await tokens_with_bos(model(), p.text);
    co_return p;
  }

  // The strong tokens of prompt + draft; by text (different vocabularies) or by id (shared).
  // The prompt and the draft must outlive the task.
  Task<BridgedDraft> bridge(const StrongPrompt& p, const DraftView& draft) const {
    if (shared_vocabulary_) co_return bridge_tokens(p, draft);
    co_return co_await bridged_text(model(), p, draft);
  }

  // A new response, or the reference's re-read: the model drops what it holds and reads its
  // next context from scratch (the prompt comes with the first drafted tokens it scores).
  void start() { model().reset(); }

  // Reads the prompt alone into the sequence (the reference's pass 3 does before the kept draft),
  // as online and pass 2 read it first: a provider may compute a read from a sequence's start as
  // one piece (LlamaOptions::whole_prompts), so the kept draft must not join it.
  Task<void> read_prompt(std::span<const Token> prompt) {
    co_await awaited([&] { return model().score(prompt, {}); });
  }

  // P(targets[i] | context, targets[..i]) for each drafted target, from the model's own
  // distribution (never a sampler's).
  Task<std::vector<double>> probabilities(std::span<const Token> context, std::span<const Token> targets) {
    if (targets.empty()) co_return std::vector<double>{};  // nothing to ask the model
    std::vector<double> p = co_await awaited([&] { return model().score(context, targets); });
    if (p.size() != targets.size())
      throw ProviderError("strong model returned " + std::to_string(p.size()) + " log-probabilities for " +
                          std::to_string(targets.size()) + " targets");
    for (double& x : p) {
      if (!(x <= 0.0))  // NaN or positive
        throw ProviderError("strong model returned log p = " + std::to_string(x) + ", not a log-probability");
      x = std::exp(x);
    }
    co_return p;
  }

  // Writes at most max_tokens after the context (prompt + kept draft), until an end token, a stop
  // string in the answer or a cancel; streams the answer's final text as it is written.
  Task<Continuation> continue_writing(std::span<const Token> context, std::size_t max_tokens, AnswerStream& stream) {
    Continuation out;
    if (stream.cancelled()) {
      out.reason = ContinuationEnd::cancelled;
      co_return out;
    }
    WriteEnd end;
    if constexpr (TextWriter<Model>) {
      const PieceCallback on_piece = [&](std::string_view piece) { return accept_text(piece, out, stream); };
      end = co_await awaited([&] { return model().write_text(context, max_tokens, on_piece); });
      out.tokens = co_await awaited([&] { return model().tokenize(out.text); });  // the server's tokens of what it wrote
    } else {
      const TokenCallback on_token = [&](Token t) { return accept_written(t, out, stream); };
      end = co_await awaited([&] { return model().write(context, max_tokens, on_token); });
    }
    if (end == WriteEnd::eos) out.reason = ContinuationEnd::eos;
    if (end == WriteEnd::length) out.reason = ContinuationEnd::length;
    if (!stream.finish() && out.reason != ContinuationEnd::stop) out.reason = ContinuationEnd::cancelled;
    co_return out;
  }

  // The model's own answer (awaited where it is a Task: the tokens must outlive it).
  decltype(auto) detokenize(std::span<const Token> tokens) const { return model().detokenize(tokens); }
  const StopStrings& stops() const { return stops_; }
  Model& model() { return sequence_; }  // a reference_wrapper converts to the model it refers to
  const Model& model() const { return sequence_; }

  // Its parameters: the stop strings, the vocabulary bridge, and the sequence's own (its sampler).
  void describe(Settings& out) const {
    out.push_back({"strong_stop_strings", stops_.strings()});
    out.push_back({"shared_vocabulary", shared_vocabulary_});
    describe_part(model(), out);
  }

 private:

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

  Sequence sequence_;
  Template template_;
  StopStrings stops_;
  bool shared_vocabulary_;
};

// StrongModel(FullRowScorer(provider)) and StrongModel(std::ref(sequence)) deduce the sequence.
template <class Sequence>
StrongModel(Sequence) -> StrongModel<Sequence, BaseModelTemplate>;
template <class Sequence, class Template>
StrongModel(Sequence, Template, std::vector<std::string> = {}, bool = false) -> StrongModel<Sequence, Template>;

}  // namespace wsd
