#pragma once
// The policies a WeakToStrongDecoder is composed of, as concepts.
#include <concepts>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wsd/logits.hpp"
#include "wsd/types.hpp"

namespace wsd {

// A model behind a KV cache: vocabulary, special tokens, text <-> tokens, and
// append(tokens, rows) -> logits of the rows asked for (indices into tokens) in one call,
// rollback(n) to a shorter length, length(). The block stays valid until the next append.
template <class P>
concept LogitsProvider = requires(P& p, const P& cp, std::span<const Token> tokens,
                                  std::span<const std::size_t> rows, std::string_view text,
                                  Token token, std::size_t n) {
  { cp.vocab_size() } -> std::convertible_to<std::size_t>;
  { cp.special_tokens() } -> std::convertible_to<SpecialTokens>;
  { cp.tokenize(text) } -> std::same_as<std::vector<Token>>;  // parses special-token text, adds no BOS
  { cp.token_text(token) } -> std::convertible_to<std::string>;  // the token's bytes, specials rendered
  { cp.detokenize(tokens) } -> std::same_as<std::string>;  // text of tokens, specials skipped
  { p.append(tokens, rows) } -> std::same_as<LogitsBlock>;
  { p.rollback(n) };
  { cp.length() } -> std::convertible_to<std::size_t>;
};

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

// A handoff criterion: reset() per response, observe(p_k) for each drafted strong token in order
// (true at the switch point), window_mean() of the last observation, skips_draft() for no draft.
template <class S>
concept SwitchPolicy = requires(S& s, const S& cs, double p) {
  { s.reset() };
  { s.observe(p) } -> std::same_as<bool>;
  { cs.window_mean() } -> std::convertible_to<double>;
  { cs.skips_draft() } -> std::same_as<bool>;
};

}  // namespace wsd
