// Fuzz target: wsd-server's request reader (serve/chat_api.hpp), as the server runs it on a body.
// Any bytes end as a conversation and a configuration that validate, or as a 4xx error with
// OpenAI's error object (which serialises); nothing else may escape, and nothing crashes.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <wsd/serve/chat_api.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  static const wsd::Config defaults = [] {
    wsd::Config c;
    c.max_tokens = 256;
    c.draft_max_tokens = 128;
    return c;
  }();
  try {
    const nlohmann::json j = nlohmann::json::parse(body);  // the server answers a parse error with 400
    const wsd::serve::ChatRequest r = wsd::serve::parse_chat_request(j, defaults, "wsd", 2048);
    wsd::validate(r.config, "request");
    if (r.config.max_tokens > 2048 || r.n < 1 || r.n > 8 || r.conversation.messages.empty()) std::abort();
    if (r.include_usage && !r.stream) std::abort();
    wsd::validate_conversation(r.conversation);  // the server's next step: an InputError is a 400
  } catch (const nlohmann::json::exception&) {
  } catch (const wsd::InputError&) {
  } catch (const wsd::serve::ApiError& e) {
    if (e.status < 400 || e.status > 499) std::abort();
    (void)wsd::serve::json_text(e.body());  // the error object always serialises
  }
  return 0;
}
