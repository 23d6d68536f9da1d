// Fuzz target: the configuration parser. Any text is either a valid configuration, which survives
// a round trip through JSON unchanged, or a ConfigError; nothing else may escape.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <wsd/json/config.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const wsd::Config c = wsd::config_from_text(text, "fuzz");
    wsd::validate(c);
    const nlohmann::json j = wsd::to_json(c);
    if (wsd::to_json(wsd::config_from_json(j, "round trip")) != j) std::abort();
  } catch (const wsd::ConfigError&) {
  }
  return 0;
}
