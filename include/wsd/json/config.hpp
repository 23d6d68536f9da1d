#pragma once
// A Config as JSON: every field checked as it is read, errors naming the source, the field and
// the value. The switch rules' parameters are fields of their own, derived from the rules'
// descriptions of them (rules/registry.hpp), so a new rule's parameters need no change here.
#include <cstdint>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "wsd/compose/config.hpp"
#include "wsd/core/errors.hpp"

namespace wsd {

namespace detail {
template <class T>
T read_field(const nlohmann::json& j, const std::string& name, const std::string& where) {
  const auto& v = j.at(name);
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) throw ConfigError(where + ": " + name + " = " + v.dump() + " is not true or false");
    return v.get<bool>();
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) throw ConfigError(where + ": " + name + " = " + v.dump() + " is not a string");
    return v.get<std::string>();
  } else if constexpr (std::is_same_v<T, double>) {
    if (!v.is_number()) throw ConfigError(where + ": " + name + " = " + v.dump() + " is not a number");
    return v.get<double>();
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    if (!v.is_array()) throw ConfigError(where + ": " + name + " = " + v.dump() + " is not a list of strings");
    std::vector<std::string> out;
    for (const auto& e : v) {
      if (!e.is_string()) throw ConfigError(where + ": " + name + " holds " + e.dump() + ", not a string");
      out.push_back(e.get<std::string>());
    }
    return out;
  } else {  // non-negative integers
    if (!v.is_number_integer() || (v.is_number_integer() && v.get<std::int64_t>() < 0 && !v.is_number_unsigned()))
      throw ConfigError(where + ": " + name + " = " + v.dump() + " is not a non-negative integer");
    return static_cast<T>(v.get<std::uint64_t>());
  }
}

inline SamplingParams read_sampling(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw ConfigError(where + " = " + j.dump() + " is not an object");
  SamplingParams s;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "temperature")
      s.temperature = read_field<double>(j, it.key(), where);
    else if (it.key() == "top_p")
      s.top_p = read_field<double>(j, it.key(), where);
    else if (it.key() == "top_k")
      s.top_k = static_cast<int>(read_field<std::size_t>(j, it.key(), where));
    else if (it.key() == "seed")
      s.seed = read_field<std::uint64_t>(j, it.key(), where);
    else if (it.key() == "repetition_penalty")
      s.repetition_penalty = read_field<double>(j, it.key(), where);
    else
      throw ConfigError(where + ": unknown field '" + it.key() + "'");
  }
  return s;
}
}  // namespace detail

// Reads a configuration object; fields not given keep their defaults, unknown fields are errors.
inline Config config_from_json(const nlohmann::json& j, const std::string& where = "configuration") {
  using detail::read_field;
  if (!j.is_object()) throw ConfigError(where + ": expected a JSON object, got " + j.dump());
  Config c;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    if (k == "draft_max_tokens")
      c.draft_max_tokens = read_field<std::size_t>(j, k, where);
    else if (k == "max_tokens")
      c.max_tokens = read_field<std::size_t>(j, k, where);
    else if (k == "chunk")
      c.chunk = read_field<std::size_t>(j, k, where);
    else if (k == "switch_rule")
      c.switch_rule = read_field<std::string>(j, k, where);
    else if (k == "draft")
      c.draft = detail::read_sampling(it.value(), where + ": draft");
    else if (k == "continuation")
      c.continuation = detail::read_sampling(it.value(), where + ": continuation");
    else if (k == "weak_stop_strings")
      c.weak_stop_strings = read_field<std::vector<std::string>>(j, k, where);
    else if (k == "strong_stop_strings")
      c.strong_stop_strings = read_field<std::vector<std::string>>(j, k, where);
    else if (k == "shared_vocabulary")
      c.shared_vocabulary = read_field<bool>(j, k, where);
    else if (k == "mode") {
      const auto m = read_field<std::string>(j, k, where);
      if (m != "online" && m != "offline") throw ConfigError(where + ": mode = \"" + m + "\" is not online or offline");
      c.mode = m == "online" ? Mode::online : Mode::offline;
    } else if (const RuleParameter* p = find_parameter(switch_rule_parameters(), k)) {
      c.switch_args.set(
          k, p->integer ? static_cast<double>(read_field<std::size_t>(j, k, where)) : read_field<double>(j, k, where));
    } else {
      throw ConfigError(where + ": unknown field '" + k + "'");
    }
  }
  validate(c, where);
  return c;
}

inline nlohmann::json sampling_to_json(const SamplingParams& s) {
  nlohmann::json j = {{"temperature", s.temperature}, {"top_p", s.top_p}, {"top_k", s.top_k}, {"seed", s.seed}};
  if (s.repetition_penalty != 1.0) j["repetition_penalty"] = s.repetition_penalty;
  return j;
}

inline nlohmann::json to_json(const Config& c) {
  nlohmann::json j = {{"draft_max_tokens", c.draft_max_tokens},
                      {"max_tokens", c.max_tokens},
                      {"chunk", c.chunk},
                      {"switch_rule", c.switch_rule},
                      {"draft", sampling_to_json(c.draft)},
                      {"continuation", sampling_to_json(c.continuation)},
                      {"weak_stop_strings", c.weak_stop_strings},
                      {"strong_stop_strings", c.strong_stop_strings},
                      {"shared_vocabulary", c.shared_vocabulary},
                      {"mode", to_string(c.mode)}};
  for (const auto& [name, value] : c.switch_args.values()) {
    const RuleParameter* p = find_parameter(switch_rule_parameters(), name);
    if (p && p->integer)
      j[name] = static_cast<std::uint64_t>(value);
    else
      j[name] = value;
  }
  return j;
}

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
