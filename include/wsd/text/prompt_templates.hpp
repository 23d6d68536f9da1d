#pragma once
// How each side renders a conversation: the drafter's chat template, the base model's plain blocks.
#include <functional>
#include <string>
#include <vector>

#include "wsd/core/concepts.hpp"
#include "wsd/core/conversation.hpp"
#include "wsd/core/strings.hpp"

namespace wsd {

// The reference's template for a base model: "\n\n[Role]\n" + stripped content per message,
// ending with "\n\n[Assistant]\n".
// An answer prefix (see answer_prefix) follows the generation prompt.
struct BaseModelTemplate {
  std::string render(const Conversation& conversation) const {
    const Conversation c = without_answer_prefix(conversation);
    std::string out;
    for (const Message& m : c.messages) {
      out += m.role == "system" ? "\n\n[System]\n" : m.role == "user" ? "\n\n[User]\n" : "\n\n[Assistant]\n";
      out += strip(m.content);
    }
    out += "\n\n[Assistant]\n";
    return out + answer_prefix(conversation);
  }
};

// An instruct model's own chat template, with the generation prompt added (and an answer prefix
// after it).
template <ChatProvider Provider>
class ChatTemplate {
 public:
  explicit ChatTemplate(const Provider& provider) : provider_(provider) {}
  std::string render(const Conversation& c) const {
    return provider_.get().apply_chat_template(without_answer_prefix(c)) + answer_prefix(c);
  }

 private:
  std::reference_wrapper<const Provider> provider_;
};

// The reference's stop strings for base-model text.
inline std::vector<std::string> base_model_stop_strings() {
  return {"\n\n[User]", "\n\n[System]", "\n\n[Assistant]", "\n[User]", "\n[System]",
          "\n[Assistant]", "[User]", "[System]", "[Assistant]"};
}

// The reference's stop strings for chat models (their end-of-turn markers as text).
inline std::vector<std::string> chat_model_stop_strings() {
  return {"<end_of_turn>", "<|eot_id|>", "<|im_end|>"};
}

}  // namespace wsd
