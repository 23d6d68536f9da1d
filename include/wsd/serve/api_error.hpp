#pragma once
// An error as OpenAI's API returns it, and JSON as the server sends it.
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <utility>

namespace wsd::serve {

// An error as OpenAI's API returns it: {"error": {"message", "type", "param", "code"}} and a status.
// The message is kept whole (what() would end it at a NUL a client sent).
struct ApiError : std::runtime_error {
  int status;
  std::string message, type, param, code;
  ApiError(int status, std::string message, std::string param = {}, std::string type = "invalid_request_error",
           std::string code = {})
      : std::runtime_error(message), status(status), message(std::move(message)), type(std::move(type)),
        param(std::move(param)), code(std::move(code)) {}
  nlohmann::json body() const {
    nlohmann::json e = {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
    if (!param.empty()) e["param"] = param;
    if (!code.empty()) e["code"] = code;
    return {{"error", e}};
  }
};

// A model this server does not serve, named in a request or a route: 404, as OpenAI answers it.
inline ApiError model_not_found(const std::string& asked, const std::string& served) {
  return ApiError(404, "the model '" + asked + "' does not exist; this server serves '" + served + "'", "model",
                  "invalid_request_error", "model_not_found");
}

// JSON as the server sends it: bytes that are not UTF-8 (a request's own, quoted back in an error;
// a piece of a character streamed early) become U+FFFD instead of failing the response.
inline std::string json_text(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

}  // namespace wsd::serve
