// Fuzz target: the text bridge fed arbitrary bytes as a weak draft. The stable text end is the
// end of the draft minus its last word and the whitespace before it; the bridged tokens keep
// every byte of the (stripped) draft; the stable tokens never reach past the stable text; an
// ended draft is stable as a whole.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../toy_providers.hpp"

namespace {
const toy::ToyProvider& strong() {
  static const toy::ToyProvider p(toy::Vocabulary::words(), {});
  return p;
}
std::string as_toy_text(std::string_view s) {  // what the toy tokenizer keeps of arbitrary bytes
  return strong().detokenize(strong().tokenize(s));
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view draft(reinterpret_cast<const char*>(data), size);
  const std::size_t end = wsd::stable_text_end(draft);
  if (end > draft.size()) std::abort();
  if (end > 0 && wsd::is_space(draft[end - 1])) std::abort();
  std::size_t i = end;
  while (i < draft.size() && wsd::is_space(draft[i])) ++i;
  while (i < draft.size() && !wsd::is_space(draft[i])) ++i;
  if (i != draft.size()) std::abort();  // more than the last word was held back

  const std::string prompt_text = "\n\n[User]\nhello\n\n[Assistant]\n";
  const wsd::StrongPrompt prompt{prompt_text, wsd::tokenize_with_bos(strong(), prompt_text)};
  for (bool ended : {false, true}) {
    const wsd::BridgedDraft b = wsd::bridge_text(strong(), prompt, draft, ended);
    if (b.prompt_tokens != prompt.tokens.size() || b.tokens.size() < b.prompt_tokens) std::abort();
    if (b.stable > b.drafted() || (ended && b.stable != b.drafted())) std::abort();
    const std::string_view kept = ended ? wsd::strip(draft) : wsd::lstrip(draft);
    const auto drafted = std::span<const wsd::Token>(b.tokens).subspan(b.prompt_tokens);
    if (strong().detokenize(drafted) != as_toy_text(kept)) std::abort();  // bytes lost or added
    if (!ended) {
      const std::string stable_text = strong().detokenize(drafted.first(b.stable));
      const std::string_view lead_stripped = wsd::lstrip(draft);
      const std::size_t cut = wsd::stable_text_end(lead_stripped);
      if (stable_text.size() > as_toy_text(lead_stripped.substr(0, cut)).size()) std::abort();
    }
  }
  return 0;
}
