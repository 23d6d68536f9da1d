#pragma once
// OpenAI's chat completions API over a WSD pair, the request side: a request read into a
// conversation and the configuration it asks for (checked, errors as OpenAI returns them: which
// field, which value). The answer's objects: serve/responses.hpp; the HTTP side is wsd-server's
// (examples/wsd_server.cpp).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "wsd/compose/config.hpp"
#include "wsd/core/conversation.hpp"
#include "wsd/json/config.hpp"
#include "wsd/json/fields.hpp"
#include "wsd/serve/api_error.hpp"

namespace wsd::serve {

// What a chat completion request asks for.
struct ChatRequest {
  Conversation conversation;
  Config config;  // the server's defaults with the request's fields applied, checked
  std::size_t n = 1;
  bool stream = false;
  bool include_usage = false;
};

// Fields of OpenAI's API that wsd cannot honour: a request that sets one is refused, naming it.
inline const std::vector<std::string>& refused_fields() {
  static const std::vector<std::string> f = {"tools",     "tool_choice",       "functions", "function_call",
                                             "logprobs",  "top_logprobs",      "response_format",
                                             "logit_bias", "parallel_tool_calls", "audio", "modalities", "prediction"};
  return f;
}

namespace detail {
inline std::string type_name(const nlohmann::json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}
inline ApiError bad(const std::string& param, const std::string& message) { return ApiError(400, message, param); }

// A value of a refused field that asks for nothing wsd lacks (OpenAI's own defaults): false, an
// empty list or object, "none" for a tool choice, plain text as the response format, 0 top logprobs.
inline bool harmless(const std::string& field, const nlohmann::json& v) {
  if ((v.is_boolean() && !v.get<bool>()) || (v.is_array() && v.empty()) || (v.is_object() && v.empty())) return true;
  if ((field == "tool_choice" || field == "function_call") && v == "none") return true;
  if (field == "response_format" && v == nlohmann::json{{"type", "text"}}) return true;
  return field == "top_logprobs" && v.is_number_integer() && v.get<std::int64_t>() == 0;
}

inline double number(const nlohmann::json& body, const std::string& name, double lo, double hi) {
  const auto& v = body.at(name);
  if (!v.is_number()) throw bad(name, "'" + name + "' must be a number, got " + type_name(v));
  const double x = v.get<double>();
  if (x < lo || x > hi)
    throw bad(name, "'" + name + "' = " + v.dump() + " is out of range: it must be in [" + format_number(lo) + ", " +
                        format_number(hi) + "]");
  return x;
}
inline std::int64_t integer(const nlohmann::json& body, const std::string& name, std::int64_t lo, std::int64_t hi) {
  const auto& v = body.at(name);
  if (!v.is_number_integer()) throw bad(name, "'" + name + "' must be an integer, got " + type_name(v) + " " + v.dump());
  const std::int64_t x = v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(hi)
                             ? hi + 1
                             : v.get<std::int64_t>();
  if (x < lo || x > hi)
    throw bad(name, "'" + name + "' = " + v.dump() + " is out of range: it must be in [" + std::to_string(lo) + ", " +
                        std::to_string(hi) + "]");
  return x;
}
inline bool boolean(const nlohmann::json& body, const std::string& name) {
  const auto& v = body.at(name);
  if (!v.is_boolean()) throw bad(name, "'" + name + "' must be a boolean, got " + type_name(v));
  return v.get<bool>();
}
inline bool given(const nlohmann::json& body, const std::string& name) {
  return body.contains(name) && !body.at(name).is_null();
}

// A message's text: a string, or OpenAI's array of content parts of type "text".
inline std::string content_text(const nlohmann::json& m, std::size_t i) {
  const std::string param = "messages[" + std::to_string(i) + "].content";
  if (!m.contains("content") || m["content"].is_null()) throw bad(param, "'" + param + "' is missing");
  const auto& c = m["content"];
  if (c.is_string()) return c.get<std::string>();
  if (!c.is_array()) throw bad(param, "'" + param + "' must be a string or an array of text parts, got " + type_name(c));
  std::string out;
  for (std::size_t k = 0; k < c.size(); ++k) {
    const auto& part = c[k];
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
      throw bad(param + "[" + std::to_string(k) + "]", "'" + param + "[" + std::to_string(k) +
                                                           "]' is not a text part ({\"type\": \"text\", \"text\": ...}); "
                                                           "wsd takes text only");
    out += part["text"].get<std::string>();
  }
  return out;
}
}  // namespace detail

// Reads a request body (already parsed JSON) against the server's defaults and model name.
// `max_context` bounds max_tokens (the strong model's context per conversation).
inline ChatRequest parse_chat_request(const nlohmann::json& body, const Config& defaults, const std::string& model,
                                      std::size_t max_context) {
  using namespace detail;
  if (!body.is_object()) throw bad("", "the request body must be a JSON object, got " + type_name(body));
  for (const auto& f : refused_fields())
    if (given(body, f) && !harmless(f, body.at(f)))
      throw bad(f, "'" + f + "' = " + body.at(f).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                       " is not supported by wsd-server (a WSD pair writes plain text)");
  for (const char* penalty : {"frequency_penalty", "presence_penalty"})  // OpenAI's range; wsd has neither
    if (given(body, penalty) && number(body, penalty, -2.0, 2.0) != 0.0)
      throw bad(penalty, "'" + std::string(penalty) + "' = " + body.at(penalty).dump() +
                             " is not supported by wsd-server (only 0); the continuation's repetition penalty is "
                             "wsd-server's --continuation-repetition-penalty");
  if (given(body, "model")) {
    if (!body["model"].is_string()) throw bad("model", "'model' must be a string, got " + type_name(body["model"]));
    if (body["model"].get<std::string>() != model) throw model_not_found(body["model"].get<std::string>(), model);
  }
  ChatRequest r;
  if (!body.contains("messages")) throw bad("messages", "'messages' is required");
  const auto& msgs = body["messages"];
  if (!msgs.is_array()) throw bad("messages", "'messages' must be an array, got " + type_name(msgs));
  if (msgs.empty()) throw bad("messages", "'messages' must hold at least one message");
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    const auto& m = msgs[i];
    const std::string at = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) throw bad(at, "'" + at + "' must be an object, got " + type_name(m));
    if (!m.contains("role") || !m["role"].is_string()) throw bad(at + ".role", "'" + at + ".role' must be a string");
    std::string role = m["role"].get<std::string>();
    if (role == "developer") role = "system";  // OpenAI's newer name for it
    if (role != "system" && role != "user" && role != "assistant")
      throw bad(at + ".role", "'" + at + ".role' = \"" + m["role"].get<std::string>() +
                                  "\" is not one of system, developer, user, assistant");
    r.conversation.messages.push_back({role, content_text(m, i)});
  }
  if (r.conversation.messages.back().role == "system")
    throw bad("messages", "the last message must be the user's (or an assistant's answer prefix), not a system message");

  nlohmann::json patch = nlohmann::json::object();
  for (const char* name : {"max_tokens", "max_completion_tokens"})
    if (given(body, name)) patch["max_tokens"] = integer(body, name, 1, static_cast<std::int64_t>(max_context));
  if (given(body, "temperature")) {
    const double t = number(body, "temperature", 0.0, 2.0);
    patch["draft"]["temperature"] = t;
    patch["continuation"]["temperature"] = t;
  }
  if (given(body, "top_p")) {
    const double p = number(body, "top_p", 0.0, 1.0);
    if (p == 0.0) throw bad("top_p", "'top_p' = 0 is out of range: it must be in (0, 1]");
    patch["draft"]["top_p"] = p;
    patch["continuation"]["top_p"] = p;
  }
  if (given(body, "seed")) {
    const auto& v = body["seed"];
    if (!v.is_number_integer()) throw bad("seed", "'seed' must be an integer, got " + type_name(v));
    const auto seed = static_cast<std::uint64_t>(v.get<std::int64_t>());
    patch["draft"]["seed"] = seed;
    patch["continuation"]["seed"] = seed;
  }
  if (given(body, "n")) r.n = static_cast<std::size_t>(integer(body, "n", 1, 8));
  if (given(body, "stream")) r.stream = boolean(body, "stream");
  if (given(body, "stream_options")) {
    const auto& so = body["stream_options"];
    if (!so.is_object()) throw bad("stream_options", "'stream_options' must be an object, got " + type_name(so));
    if (!r.stream) throw bad("stream_options", "'stream_options' is only allowed when 'stream' is true");
    if (given(so, "include_usage")) r.include_usage = boolean(so, "include_usage");
  }
  std::vector<std::string> stops;
  if (given(body, "stop")) {
    const auto& s = body["stop"];
    if (s.is_string()) {
      stops.push_back(s.get<std::string>());
    } else if (s.is_array()) {
      if (s.size() > 4) throw bad("stop", "'stop' holds " + std::to_string(s.size()) + " strings; at most 4 are allowed");
      for (const auto& e : s) {
        if (!e.is_string()) throw bad("stop", "'stop' must be a string or an array of strings");
        stops.push_back(e.get<std::string>());
      }
    } else {
      throw bad("stop", "'stop' must be a string or an array of strings, got " + type_name(s));
    }
    for (const auto& x : stops)
      if (x.empty()) throw bad("stop", "'stop' holds an empty string");
  }
  r.config = defaults;
  read_fields(config_fields(), patch, r.config, "request");  // the values above, each already checked
  // WSD's own parameters, as the configuration file names them: those described as settable per
  // request (compose/config.hpp's config_fields). An error names the field as the request gave it.
  std::map<std::string, std::string, std::less<>> given_as;  // configuration name -> the request's
  if (given(body, "wsd")) {
    const auto& w = body["wsd"];
    if (!w.is_object()) throw bad("wsd", "'wsd' must be an object, got " + type_name(w));
    nlohmann::json own = nlohmann::json::object();
    for (auto it = w.begin(); it != w.end(); ++it) {
      const std::string key = it.key() == "switch" ? "switch_rule" : it.key();
      const Field<Config>* field = find_field(config_fields(), key);
      if ((field && !field->per_request) || is_part(config_fields(), key))  // e.g. "draft": its fields draft.*
        throw bad("wsd." + it.key(), "'wsd." + it.key() + "' cannot be set per request");
      own[key] = it.value();
      given_as[key] = it.key();
    }
    try {
      read_fields(config_fields(), own, r.config, "request");
    } catch (const ConfigError& e) {
      throw bad("wsd." + given_as[e.field], e.what());
    }
  }
  for (const auto& x : stops) r.config.strong_stop_strings.push_back(x);  // they cut the answer's text
  try {
    validate(r.config, "request");
  } catch (const ConfigError& e) {  // fields that are fine alone but not together
    const auto it = given_as.find(e.field);
    throw bad(it != given_as.end() ? "wsd." + it->second : e.field == "max_tokens" ? "max_tokens" : "wsd", e.what());
  }
  if (r.config.max_tokens > max_context)
    throw bad("max_tokens", "'max_tokens' = " + std::to_string(r.config.max_tokens) +
                                " is more than the model's context of " + std::to_string(max_context) + " tokens");
  return r;
}

}  // namespace wsd::serve
