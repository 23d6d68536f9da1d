#pragma once
// OpenAI's chat completion objects for WSD answers, each built in one place: the response, a
// stream's chunks (text, the switch marker, the last chunk with its finish reason and trace), the
// usage, an answer's error, and a server-sent event; the WSD trace goes under "wsd": the record
// wsd-generate writes (json/result.hpp's to_json), one set of names.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "wsd/core/errors.hpp"
#include "wsd/core/result.hpp"
#include "wsd/json/result.hpp"
#include "wsd/serve/api_error.hpp"

namespace wsd::serve {

// The finish reason OpenAI names: "length" when the answer ran into max_tokens, else "stop".
inline std::string finish_reason(const Result& r) { return ended_by_max_tokens(r) ? "length" : "stop"; }

// The text of an answer without its answer prefix (the client sent that part).
inline std::string answer_text(const Result& r) {
  return r.text.starts_with(r.answer_prefix) ? r.text.substr(r.answer_prefix.size()) : r.text;
}


// What every object of one completion repeats: its id, creation time and model.
struct Completion {
  std::string id;
  std::int64_t created = 0;  // seconds since the epoch
  std::string model;

  static Completion now(std::string id, std::string model) {
    const auto t = std::chrono::system_clock::now().time_since_epoch();
    return {std::move(id), std::chrono::duration_cast<std::chrono::seconds>(t).count(), std::move(model)};
  }

  nlohmann::json head(const char* object) const {
    return {{"id", id}, {"object", object}, {"created", created}, {"model", model}};
  }

  // A stream's chunk for choice i: a delta ({"content": ...}) and a finish reason (null until the last).
  nlohmann::json chunk(std::size_t i, nlohmann::json delta, nlohmann::json finish = nullptr) const {
    nlohmann::json c = head("chat.completion.chunk");
    c["choices"] = nlohmann::json::array({{{"index", i}, {"delta", std::move(delta)}, {"finish_reason", std::move(finish)}}});
    return c;
  }
  // The chunk that marks where the base model took over choice i: {"wsd": {"event": "switch"}}.
  nlohmann::json switch_chunk(std::size_t i) const {
    nlohmann::json c = chunk(i, nlohmann::json::object());
    c["wsd"] = {{"event", "switch"}};
    return c;
  }
  // Choice i's last chunk: its finish reason and its trace.
  nlohmann::json final_chunk(std::size_t i, const Result& r) const {
    nlohmann::json c = chunk(i, nlohmann::json::object(), finish_reason(r));
    c["wsd"] = to_json(r);
    return c;
  }
  // The chunk with the usage after every choice's last (stream_options.include_usage).
  nlohmann::json usage_chunk(std::size_t prompt_tokens, std::size_t completion_tokens) const {
    nlohmann::json c = head("chat.completion.chunk");
    c["choices"] = nlohmann::json::array();
    c["usage"] = usage(prompt_tokens, completion_tokens);
    return c;
  }
  // The response to a request that did not stream: every choice, the usage, the traces.
  nlohmann::json response(std::span<const Result> results, std::size_t prompt_tokens) const {
    nlohmann::json choices = nlohmann::json::array(), traces = nlohmann::json::array();
    for (std::size_t i = 0; i < results.size(); ++i) {
      const Result& r = results[i];
      choices.push_back({{"index", i},
                         {"message", {{"role", "assistant"}, {"content", answer_text(r)}}},
                         {"logprobs", nullptr},
                         {"finish_reason", finish_reason(r)}});
      traces.push_back(to_json(r));
    }
    nlohmann::json out = head("chat.completion");
    out["choices"] = std::move(choices);
    out["usage"] = usage(prompt_tokens, completion_tokens(results));
    out["wsd"] = results.size() == 1 ? traces[0] : nlohmann::json{{"choices", traces}};
    return out;
  }

  static nlohmann::json usage(std::size_t prompt_tokens, std::size_t completion_tokens) {
    return {{"prompt_tokens", prompt_tokens},
            {"completion_tokens", completion_tokens},
            {"total_tokens", prompt_tokens + completion_tokens}};
  }
  static std::size_t completion_tokens(std::span<const Result> results) {
    std::size_t n = 0;
    for (const auto& r : results) n += answer_tokens(r);
    return n;
  }
};

// An answer that failed, as the error a client gets (500, its message).
// What the client is told of a conversation that failed: its input did not fit the models'
// context (400 context_length_exceeded), else a 500 "internal error"; either with the request's id
// and never the exception's text (which may hold a model's file path): that goes to the log
// (failure_detail), under the same id.
inline ApiError answer_error(const std::exception_ptr& e, const std::string& request_id) {
  try {
    std::rethrow_exception(e);
  } catch (const ContextOverflowError&) {
    return ApiError(400, "the conversation does not fit the models' context window (request " + request_id + ")",
                    "messages", "invalid_request_error", "context_length_exceeded");
  } catch (...) {
    return ApiError(500, "internal error (request " + request_id + ")", "", "server_error");
  }
}

// The detail of a failure, for the server's log.
inline std::string failure_detail(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

// One server-sent event: "data: JSON" and a blank line.
inline std::string sse(const nlohmann::json& j) { return "data: " + json_text(j) + "\n\n"; }
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

}  // namespace wsd::serve
