#pragma once
// Checks that a conversation is one the reference can prompt with; its answer prefix, if any.
#include <string>

#include "wsd/core/errors.hpp"
#include "wsd/core/strings.hpp"
#include "wsd/core/types.hpp"

namespace wsd {

// Throws InputError naming the conversation, the message and the problem.
inline void validate_conversation(const Conversation& c) {
  const std::string where = "conversation '" + c.id + "'";
  if (c.messages.empty()) throw InputError(where + ": messages is empty");
  for (std::size_t i = 0; i < c.messages.size(); ++i) {
    const Message& m = c.messages[i];
    const std::string at = where + ", messages[" + std::to_string(i) + "]";
    if (m.role != "system" && m.role != "user" && m.role != "assistant")
      throw InputError(at + ": unknown role '" + m.role + "' (expected system, user or assistant)");
    if (auto bad = invalid_utf8_offset(m.content); bad != std::string::npos)
      throw InputError(at + ": content is not valid UTF-8 (byte " + std::to_string(bad) + ")");
    if (m.role == "system" && i != 0) throw InputError(at + ": a system message must come first");
  }
  const std::string& last = c.messages.back().role;
  if (last == "assistant" && (c.messages.size() < 2 || c.messages[c.messages.size() - 2].role != "user"))
    throw InputError(where + ": an answer prefix (a last message from the assistant) must follow a user message");
  if (last != "user" && last != "assistant")
    throw InputError(where + ": the last message must be from the user (or the assistant: an answer prefix), not '" +
                     last + "'");
}

// A conversation whose last message is from the assistant is answered by continuing that message:
// its stripped content is the answer prefix (part of the answer, not drafted); "" otherwise.
inline std::string answer_prefix(const Conversation& c) {
  if (c.messages.empty() || c.messages.back().role != "assistant") return {};
  return std::string(strip(c.messages.back().content));
}

// The conversation up to the question the answer is for (without an answer prefix).
inline Conversation without_answer_prefix(const Conversation& c) {
  if (c.messages.empty() || c.messages.back().role != "assistant") return c;
  Conversation out{c.id, {c.messages.begin(), c.messages.end() - 1}};
  return out;
}

}  // namespace wsd
