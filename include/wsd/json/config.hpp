#pragma once
// A Config as JSON, derived from its fields' descriptions (compose/config.hpp, json/fields.hpp):
// every field checked as it is read, errors naming the source, the field and the value.
#include <cstdint>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "wsd/compose/config.hpp"
#include "wsd/core/errors.hpp"
#include "wsd/json/fields.hpp"

namespace wsd {

// Reads a configuration object; fields not given keep their defaults, unknown fields are errors.
inline Config config_from_json(const nlohmann::json& j, const std::string& where = "configuration") {
  Config c;
  read_fields(config_fields(), j, c, where);
  validate(c, where);
  return c;
}

inline nlohmann::json to_json(const Config& c) { return fields_to_json(config_fields(), c); }

// A configuration's JSON object from text, not yet checked; `where` names its source in the errors.
inline nlohmann::json config_json_from_text(std::string_view text, const std::string& where = "configuration") {
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number too large
    throw ConfigError(where + ": not valid JSON (" + e.what() + ")");
  }
}

// A configuration from JSON text; `where` names its source in the errors.
inline Config config_from_text(std::string_view text, const std::string& where = "configuration") {
  return config_from_json(config_json_from_text(text, where), where);
}

// A configuration file's JSON object, not yet checked.
inline nlohmann::json read_config_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot open the configuration file");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return config_json_from_text(text, path);
}

// A configuration file (a JSON object).
inline Config read_config(const std::string& path) { return config_from_json(read_config_json(path), path); }

}  // namespace wsd
