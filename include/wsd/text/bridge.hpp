#pragma once
// From the weak model's draft to the strong model's tokens, and which of them are final.
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wsd/core/concepts.hpp"
#include "wsd/core/errors.hpp"
#include "wsd/core/task.hpp"
#include "wsd/core/strings.hpp"

namespace wsd {

// Tokenizes text for a model and puts BOS first unless the text already starts with it, as the
// reference prepends the BOS string to a prompt that does not begin with it; awaited (a tokenizer
// on a server), or tokenize_with_bos at once.
template <Tokenizer Model>
Task<std::vector<Token>> tokens_with_bos(const Model& model, std::string text) {
  std::vector<Token> tokens = co_await awaited([&] { return model.tokenize(text); });
  for (Token t : tokens) {
    if constexpr (Vocabulary<Model>) {
      if (t < 0 || static_cast<std::size_t>(t) >= model.vocab_size())
        throw ProviderError("the tokenizer returned token id " + std::to_string(t) + ", outside its vocabulary of " +
                            std::to_string(model.vocab_size()) + " tokens");
    } else if (t < 0) {
      throw ProviderError("the tokenizer returned token id " + std::to_string(t) + ", not a token id");
    }
  }
  const auto bos = model.special_tokens().bos;
  if (bos && (tokens.empty() || tokens.front() != *bos)) tokens.insert(tokens.begin(), *bos);
  co_return tokens;
}
template <Tokenizer Model>
std::vector<Token> tokenize_with_bos(const Model& model, std::string_view text) {
  return run_now(tokens_with_bos(model, std::string(text)));
}

// Where the final part of a partial draft ends: before the whitespace that precedes its last
// word, since tokens past that point can still merge with text yet to come.
inline std::size_t stable_text_end(std::string_view partial_draft) {
  std::size_t end = partial_draft.size();
  while (end > 0 && !is_space(partial_draft[end - 1])) --end;  // the last word, maybe unfinished
  while (end > 0 && is_space(partial_draft[end - 1])) --end;   // the whitespace before it
  return end;
}

// The draft as it is re-tokenized (stripped), and what was stripped from its front.
inline std::pair<std::string_view, std::size_t> bridged_draft_text(const StrongPrompt& prompt, const DraftView& raw) {
  std::string_view draft = prompt.ends_in_answer_prefix ? std::string_view(raw.text) : lstrip(raw.text);
  const std::size_t stripped = raw.text.size() - draft.size();
  if (raw.ended) draft = rstrip(draft);
  return {draft, stripped};
}

// Different vocabularies: re-tokenize prompt + draft text as the reference does (draft stripped,
// the whole right-stripped once the draft has ended; a draft that continues an answer prefix is
// not left-stripped, as the reference strips prefix + draft as one text) and judge only tokens that
// end before the stable text end (the settled text, less its last word), or all of them once the
// draft has ended. Awaited (a tokenizer on a server: the view must outlive the task), or
// bridge_text at once.
template <Tokenizer Model>
Task<BridgedDraft> bridged_text(const Model& strong, const StrongPrompt& prompt, DraftView raw) {
  const auto [draft, stripped] = bridged_draft_text(prompt, raw);
  BridgedDraft out;
  out.prompt_tokens = prompt.tokens.size();
  if (draft.empty()) {
    out.tokens = prompt.tokens;
    co_return out;
  }
  std::string full = prompt.text;
  full += draft;
  out.tokens = co_await tokens_with_bos(strong, std::move(full));
  if (out.tokens.size() < out.prompt_tokens) out.tokens.resize(out.prompt_tokens);  // cannot happen for sane tokenizers
  if (raw.ended) {
    out.stable = out.drafted();
    co_return out;
  }
  // Byte offsets of drafted tokens are measured from the end of the prompt's share of the text.
  std::size_t prompt_bytes = 0;
  const auto bos = strong.special_tokens().bos;
  const bool bos_in_text = bos && prompt.text.starts_with(std::string(co_await awaited([&] { return strong.token_text(*bos); })));
  for (std::size_t i = 0; i < out.prompt_tokens; ++i)
    if (!(i == 0 && bos && out.tokens[0] == *bos && !bos_in_text))
      prompt_bytes += std::string(co_await awaited([&] { return strong.token_text(out.tokens[i]); })).size();
  const std::size_t settled = raw.settled_bytes > stripped ? raw.settled_bytes - stripped : 0;
  const std::size_t limit = prompt.text.size() + stable_text_end(draft.substr(0, std::min(settled, draft.size())));
  std::size_t end = prompt_bytes;
  for (std::size_t i = out.prompt_tokens; i < out.tokens.size(); ++i) {
    end += std::string(co_await awaited([&] { return strong.token_text(out.tokens[i]); })).size();
    if (end > limit) break;
    ++out.stable;
  }
  co_return out;
}
template <Tokenizer Model>
BridgedDraft bridge_text(const Model& strong, const StrongPrompt& prompt, const DraftView& raw) {
  return run_now(bridged_text(strong, prompt, raw));
}

// The same for a draft text with nothing held back by stop strings.
template <Tokenizer Model>
BridgedDraft bridge_text(const Model& strong, const StrongPrompt& prompt, std::string_view draft, bool ended) {
  return bridge_text(strong, prompt, DraftView{draft, {}, draft.size(), 0, ended});
}

// Same vocabulary: the weak token ids are the strong model's draft tokens, final once settled.
// Those past the settled point can still be cut by a stop string.
inline BridgedDraft bridge_tokens(const StrongPrompt& prompt, const DraftView& draft) {
  BridgedDraft out;
  out.prompt_tokens = prompt.tokens.size();
  out.tokens = prompt.tokens;
  out.tokens.insert(out.tokens.end(), draft.tokens.begin(), draft.tokens.end());
  out.stable = draft.settled_tokens;
  return out;
}

}  // namespace wsd
