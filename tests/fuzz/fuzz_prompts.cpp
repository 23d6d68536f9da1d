// Fuzz target: the prompts-file reader. Any bytes are either conversations that pass validation
// (unique ids, known roles, valid UTF-8) and render into both prompt templates, or an InputError.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string>
#include <wsd/io/jsonl.hpp>
#include <wsd/text/prompt_templates.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    const auto conversations = wsd::read_conversations(in, "fuzz.jsonl");
    if (conversations.empty()) std::abort();  // an empty file must be an error
    std::set<std::string> ids;
    for (const auto& c : conversations) {
      wsd::validate_conversation(c);
      if (!ids.insert(c.id).second) std::abort();
      for (const auto& m : c.messages)
        if (wsd::invalid_utf8_offset(m.content) != std::string::npos) std::abort();
      const std::string text = wsd::BaseModelTemplate{}.render(c);
      if (text.find(wsd::strip(c.messages.back().content)) == std::string::npos) std::abort();  // stripped, as the reference
    }
  } catch (const wsd::InputError&) {
  }
  return 0;
}
