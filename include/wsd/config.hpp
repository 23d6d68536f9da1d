#pragma once
// Decoding configuration: the reference's defaults, read from JSON with every value checked.
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string_view>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "wsd/errors.hpp"
#include "wsd/prompt_templates.hpp"
#include "wsd/sampling.hpp"
#include "wsd/switch_registry.hpp"

namespace wsd {

// Online interleaves drafting and scoring; offline is the reference's three passes.
enum class Mode { online, offline };

struct Config {
  double threshold = 0.8;              // tau: switch once the window mean reaches it, in (0, 1]
  std::size_t window = 6;              // w: probabilities per window mean, >= 1
  std::size_t draft_max_tokens = 512;  // the drafter's limit
  std::size_t max_tokens = 2048;       // accepted draft + continuation
  std::size_t chunk = 8;               // weak tokens drafted between two scoring calls (online), >= 1
  std::string switch_rule = "window-mean";  // a name from switch_registry.hpp
  std::size_t fixed_length = 16;            // tokens kept by the "fixed" rule
  SamplingParams draft{};                   // drafting: greedy by default, as the reference
  SamplingParams continuation{};            // continuation: greedy, as the reference
  std::vector<std::string> weak_stop_strings = chat_model_stop_strings();
  std::vector<std::string> strong_stop_strings = base_model_stop_strings();
  bool shared_vocabulary = false;  // weak token ids are strong token ids: no re-tokenizing
  Mode mode = Mode::online;
};

inline std::string to_string(Mode m) { return m == Mode::online ? "online" : "offline"; }

// Sample i of several answers to one conversation: the seeds of both phases moved by i.
inline Config sample_config(Config c, std::size_t i) {
  c.draft.seed += i;
  c.continuation.seed += i;
  return c;
}

namespace detail {
inline std::string number(double v) {
  std::ostringstream out;
  out << std::setprecision(12) << v;
  return out.str();
}
}  // namespace detail

// Throws ConfigError naming the field and the value when a value is out of range; the switch rule
// must be one the registry knows unless the caller brings its own rule object (known_rule false).
inline void validate(const Config& c, const std::string& where = "configuration", bool known_rule = true) {
  auto fail = [&](const std::string& field, const std::string& value, const std::string& rule) {
    throw ConfigError(where + ": " + field + " = " + value + " " + rule);
  };
  if (!(c.threshold > 0.0 && c.threshold <= 1.0))
    fail("threshold", detail::number(c.threshold), "is not in (0, 1]");
  if (c.window == 0) fail("window", "0", "must be at least 1");
  if (c.chunk == 0) fail("chunk", "0", "must be at least 1");
  if (known_rule && !is_switch_rule(c.switch_rule))
    fail("switch_rule", "\"" + c.switch_rule + "\"", "is not one of " + switch_rule_list());
  for (const auto* s : {&c.draft, &c.continuation}) {
    const std::string phase = s == &c.draft ? "draft" : "continuation";
    if (!(s->temperature >= 0.0) || !std::isfinite(s->temperature))
      fail(phase + ".temperature", detail::number(s->temperature), "must be >= 0");
    if (!(s->top_p > 0.0 && s->top_p <= 1.0)) fail(phase + ".top_p", detail::number(s->top_p), "is not in (0, 1]");
    if (s->top_k < 0) fail(phase + ".top_k", std::to_string(s->top_k), "must be >= 0");
  }
  for (const auto* list : {&c.weak_stop_strings, &c.strong_stop_strings})
    for (const auto& s : *list)
      if (s.empty())
        fail(list == &c.weak_stop_strings ? "weak_stop_strings" : "strong_stop_strings", "\"\"",
             "holds an empty stop string");
}

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
    if (it.key() == "temperature") s.temperature = read_field<double>(j, it.key(), where);
    else if (it.key() == "top_p") s.top_p = read_field<double>(j, it.key(), where);
    else if (it.key() == "top_k") s.top_k = static_cast<int>(read_field<std::size_t>(j, it.key(), where));
    else if (it.key() == "seed") s.seed = read_field<std::uint64_t>(j, it.key(), where);
    else throw ConfigError(where + ": unknown field '" + it.key() + "'");
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
    if (k == "threshold") c.threshold = read_field<double>(j, k, where);
    else if (k == "window") c.window = read_field<std::size_t>(j, k, where);
    else if (k == "draft_max_tokens") c.draft_max_tokens = read_field<std::size_t>(j, k, where);
    else if (k == "max_tokens") c.max_tokens = read_field<std::size_t>(j, k, where);
    else if (k == "chunk") c.chunk = read_field<std::size_t>(j, k, where);
    else if (k == "switch_rule") c.switch_rule = read_field<std::string>(j, k, where);
    else if (k == "fixed_length") c.fixed_length = read_field<std::size_t>(j, k, where);
    else if (k == "draft") c.draft = detail::read_sampling(it.value(), where + ": draft");
    else if (k == "continuation") c.continuation = detail::read_sampling(it.value(), where + ": continuation");
    else if (k == "weak_stop_strings") c.weak_stop_strings = read_field<std::vector<std::string>>(j, k, where);
    else if (k == "strong_stop_strings") c.strong_stop_strings = read_field<std::vector<std::string>>(j, k, where);
    else if (k == "shared_vocabulary") c.shared_vocabulary = read_field<bool>(j, k, where);
    else if (k == "mode") {
      const auto m = read_field<std::string>(j, k, where);
      if (m != "online" && m != "offline") throw ConfigError(where + ": mode = \"" + m + "\" is not online or offline");
      c.mode = m == "online" ? Mode::online : Mode::offline;
    } else {
      throw ConfigError(where + ": unknown field '" + k + "'");
    }
  }
  validate(c, where);
  return c;
}

inline nlohmann::json sampling_to_json(const SamplingParams& s) {
  return {{"temperature", s.temperature}, {"top_p", s.top_p}, {"top_k", s.top_k}, {"seed", s.seed}};
}

inline nlohmann::json to_json(const Config& c) {
  return {{"threshold", c.threshold},
          {"window", c.window},
          {"draft_max_tokens", c.draft_max_tokens},
          {"max_tokens", c.max_tokens},
          {"chunk", c.chunk},
          {"switch_rule", c.switch_rule},
          {"fixed_length", c.fixed_length},
          {"draft", sampling_to_json(c.draft)},
          {"continuation", sampling_to_json(c.continuation)},
          {"weak_stop_strings", c.weak_stop_strings},
          {"strong_stop_strings", c.strong_stop_strings},
          {"shared_vocabulary", c.shared_vocabulary},
          {"mode", to_string(c.mode)}};
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
