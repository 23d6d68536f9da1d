#pragma once
// Vocabulary-level types shared by every part of wsd.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace wsd {

using Token = std::int32_t;

// One turn of a conversation, in the reference's shape {"role", "content"}.
struct Message {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
  bool operator==(const Message&) const = default;
};

// A prompt as the reference takes it: an id and the messages so far.
struct Conversation {
  std::string id;
  std::vector<Message> messages;
  bool operator==(const Conversation&) const = default;
};

// The tokens a model treats specially: an optional BOS and the tokens that end its turn.
struct SpecialTokens {
  std::optional<Token> bos;
  std::vector<Token> end_of_generation;  // EOS, end-of-turn and similar
  bool ends_generation(Token t) const {
    for (Token e : end_of_generation)
      if (e == t) return true;
    return false;
  }
};

// Why a draft stopped growing; `switched` and `max_tokens` are decided by the decoder, not the
// drafter: `length` is the drafter's limit (draft_max_tokens), `max_tokens` the answer's budget
// (the judged draft reached max_tokens strong tokens with no switch before).
enum class DraftEnd { none, switched, eos, stop, length, cancelled, max_tokens };

// Why the strong model stopped writing.
enum class ContinuationEnd { eos, stop, length, cancelled };

// Why a model's writing loop returned: it wrote max_tokens, it wrote its end-of-generation token
// (engines that stop by themselves), or the caller's callback asked it to stop.
enum class WriteEnd { length, eos, callback };

// The strong model's prompt: its rendered text and tokens (BOS first when the model has one).
struct StrongPrompt {
  std::string text;
  std::vector<Token> tokens;
  bool ends_in_answer_prefix = false;  // the text ends with the answer's given start: the draft continues it
};

// The strong sequence for prompt + draft: the first `prompt_tokens` are the prompt's share
// (as the reference splits it), the next `stable` can no longer change as the draft grows.
struct BridgedDraft {
  std::vector<Token> tokens;
  std::size_t prompt_tokens = 0;
  std::size_t stable = 0;
  std::size_t drafted() const { return tokens.size() - prompt_tokens; }
};

// What the strong model wrote after the accepted draft.
struct Continuation {
  std::vector<Token> tokens;
  std::string text;
  ContinuationEnd reason = ContinuationEnd::length;
};

}  // namespace wsd
