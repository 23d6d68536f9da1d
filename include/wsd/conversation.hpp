#pragma once
// Checks that a conversation is one the reference can prompt with.
#include <string>

#include "wsd/errors.hpp"
#include "wsd/text_util.hpp"
#include "wsd/types.hpp"

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
  if (c.messages.back().role != "user")
    throw InputError(where + ": the last message must be from the user, not '" + c.messages.back().role + "'");
}

}  // namespace wsd
