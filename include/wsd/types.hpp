#pragma once
// Vocabulary-level types shared by every part of wsd.
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

}  // namespace wsd
