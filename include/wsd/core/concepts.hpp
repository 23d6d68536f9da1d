#pragma once
// The policies a WeakToStrongDecoder is composed of, as concepts: what a user's class must
// provide to stand in for each part.
#include <concepts>
#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wsd/core/logits.hpp"
#include "wsd/core/sampling_params.hpp"
#include "wsd/core/stream.hpp"
#include "wsd/core/task.hpp"
#include "wsd/core/types.hpp"

namespace wsd {

// A model's tokenizer: special tokens and text <-> tokens (const and thread-safe). Each call but
// special_tokens may return an awaitable of its result, as a tokenizer on a server does; the
// strong side awaits them, never blocking a loop.
template <class V>
concept Tokenizer = requires(const V& v, std::span<const Token> tokens, std::string_view text, Token token) {
  { v.special_tokens() } -> std::convertible_to<SpecialTokens>;
  { v.tokenize(text) } -> Yields<std::vector<Token>>;    // parses special-token text, adds no BOS
  { v.token_text(token) } -> Yields<std::string>;        // the token's bytes, specials rendered
  { v.detokenize(tokens) } -> Yields<std::string>;       // text of tokens, specials skipped
};

// A vocabulary at hand: a Tokenizer that answers at once, and its size (what a full-vocabulary
// logits row spans).
template <class V>
concept Vocabulary = Tokenizer<V> && requires(const V& v, std::span<const Token> tokens, std::string_view text, Token token) {
  { v.vocab_size() } -> std::convertible_to<std::size_t>;
  { v.tokenize(text) } -> std::same_as<std::vector<Token>>;
  { v.token_text(token) } -> std::convertible_to<std::string>;
  { v.detokenize(tokens) } -> std::same_as<std::string>;
};

// One sequence of a model behind a KV cache: append(tokens, rows) -> the full-vocabulary logits
// of the rows asked for (ascending indices into tokens) in one call, valid until the next append,
// or an awaitable of them (a provider whose engine batches: posted(), core/engine.hpp; the
// policies await it, run_now(p.append(...)) runs it at once); rollback(n) to a shorter length;
// length().
template <class P>
concept LogitsProvider = Vocabulary<P> && requires(P& p, const P& cp, std::span<const Token> tokens,
                                                   std::span<const std::size_t> rows, std::size_t n) {
  { p.append(tokens, rows) } -> Yields<LogitsBlock>;
  { p.rollback(n) };
  { cp.length() } -> std::convertible_to<std::size_t>;
};

// co_await appending(provider, tokens, rows): the provider's append, awaited.
template <LogitsProvider P>
auto appending(P& p, std::span<const Token> tokens, std::span<const std::size_t> rows) {
  return awaited([&] { return p.append(tokens, rows); });
}

// A provider that can render a conversation with its own chat template.
template <class P>
concept ChatProvider = LogitsProvider<P> && requires(const P& cp, const Conversation& c) {
  { cp.apply_chat_template(c) } -> std::convertible_to<std::string>;
};

// Renders a conversation into the text a model is prompted with.
template <class T>
concept PromptTemplate = requires(const T& t, const Conversation& c) {
  { t.render(c) } -> std::convertible_to<std::string>;
};

// Picks the next token from a row of logits; reset() restarts its random stream (once per response).
template <class S>
concept TokenSampler = requires(S& s, const float* row, std::size_t vocab) {
  { s.sample(row, vocab) } -> std::same_as<Token>;
  { s.reset() };
};

// Called with each token a model writes; returns false to stop the writing there.
using TokenCallback = std::function<bool(Token)>;

// The strong side in the paper's terms, over one sequence: a Tokenizer (no vocabulary size: it
// returns log-probabilities, not rows), score(context, targets) -> log P of
// each target after the context and the targets before it (or an awaitable of them, as every
// call below may return), and with no targets reads the context alone (a stateful one caches it
// as one read: StrongModel::read_prompt; a stateless one does nothing); write(context, max_tokens, on_token)
// samples tokens after the context with its own sampler, one on_token call each, until on_token
// returns false, max_tokens were written or (engines that stop by themselves) end of generation;
// set_sampling(params) is how write() samples (make_decoder gives it the configuration's
// continuation sampling); reset() starts a new response (its sampler's seed; a stateful one may
// also drop its cache). Stateful implementations share the prefix the context has in common with
// what they hold.
template <class S>
concept ScoringSequence = Tokenizer<S> && requires(S& s, std::span<const Token> context,
                                                    std::span<const Token> targets, std::size_t n,
                                                    const TokenCallback& on_token, const SamplingParams& sampling) {
  { s.score(context, targets) } -> Yields<std::vector<double>>;
  { s.write(context, n, on_token) } -> Yields<WriteEnd>;
  { s.set_sampling(sampling) };
  { s.reset() };
};

// Called with each piece of text a server's stream writes; returns false to stop the writing there.
using PieceCallback = std::function<bool(std::string_view)>;

// A ScoringSequence that writes text, not token ids (a server's stream): write_text(context,
// max_tokens, on_piece) is used instead of write(), and the answer's tokens are its tokenize().
template <class S>
concept TextWriter = ScoringSequence<S> && requires(S& s, std::span<const Token> context, std::size_t n,
                                                    const PieceCallback& on_piece) {
  { s.write_text(context, n, on_piece) } -> Yields<WriteEnd>;
};

// A rule's answer for one drafted token: switch here or not, and the statistic it judged by when
// it has one (the window mean g_k for the paper's rule), which the trace records.
struct Judgement {
  bool switch_here = false;
  std::optional<double> statistic;
  Judgement(bool switch_here = false, std::optional<double> statistic = std::nullopt)  // NOLINT: a plain bool is an answer
      : switch_here(switch_here), statistic(statistic) {}
  explicit operator bool() const { return switch_here; }
};

// A handoff criterion: reset() per response, observe(p_k) for each drafted strong token in order
// (a Judgement, or a bool: true at the switch point), skips_draft() when nothing is drafted at all.
template <class S>
concept SwitchPolicy = requires(S& s, const S& cs, double p) {
  { s.reset() };
  { s.observe(p) } -> std::convertible_to<Judgement>;
  { cs.skips_draft() } -> std::same_as<bool>;
};

// A draft as far as it is written: its text and weak tokens, and how much of it is settled (no
// later token or stop string can change it; all of it once the draft has ended).
struct DraftView {
  std::string_view text;
  std::span<const Token> tokens;
  std::size_t settled_bytes = 0;
  std::size_t settled_tokens = 0;
  bool ended = false;
};

// The weak side: start(conversation, max_tokens), draft(n) writes up to n more tokens and returns
// how many the model generated (an end token included), view() of the draft so far, end_reason().
// start and draft may return awaitables (Task) of the same.
template <class W>
concept WeakDrafterPolicy = requires(W& w, const W& cw, const Conversation& c, std::size_t n) {
  { w.start(c, n) };
  { w.draft(n) } -> Yields<std::size_t>;
  { cw.view() } -> std::same_as<DraftView>;
  { cw.end_reason() } -> std::same_as<DraftEnd>;
};

// The strong side as the decoder drives it: prompt(conversation), bridge(prompt, draft) to its
// tokens, start() a response or a re-read from scratch, probabilities(context, targets) of drafted
// tokens, continue_writing(context, max_tokens, stream), detokenize() and its stops(). All but
// start and stops may return awaitables (Task) of the same (a model or tokenizer on a server).
template <class S>
concept StrongModelPolicy = requires(S& s, const S& cs, const Conversation& c, const StrongPrompt& p,
                                     const DraftView& d, std::span<const Token> tokens, std::size_t n,
                                     AnswerStream& stream) {
  { s.prompt(c) } -> Yields<StrongPrompt>;
  { s.bridge(p, d) } -> Yields<BridgedDraft>;
  { s.start() };
  { s.probabilities(tokens, tokens) } -> Yields<std::vector<double>>;
  { s.continue_writing(tokens, n, stream) } -> Yields<Continuation>;
  { s.detokenize(tokens) } -> Yields<std::string>;
  { cs.stops() } -> std::convertible_to<const StopStrings&>;
};

}  // namespace wsd
