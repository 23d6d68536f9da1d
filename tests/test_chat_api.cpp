// OpenAI's chat completions request read into a conversation and a configuration (serve/chat_api.hpp):
// what is accepted, what is refused, and that a refusal names the request's own field.
#include <catch2/catch.hpp>
#include <wsd/serve/chat_api.hpp>

using nlohmann::json;

namespace {

json request(json extra = json::object()) {
  json body = {{"model", "wsd"}, {"messages", {{{"role", "user"}, {"content", "Name two colours."}}}}};
  body.merge_patch(extra);
  return body;
}

wsd::serve::ChatRequest read(const json& body) { return wsd::serve::parse_chat_request(body, wsd::Config{}, "wsd", 4096); }

// The error a request is refused with (the test fails where it is accepted).
wsd::serve::ApiError refusal(const json& body) {
  try {
    read(body);
  } catch (const wsd::serve::ApiError& e) {
    return e;
  }
  FAIL("accepted: " << body.dump());
  return wsd::serve::ApiError(0, "");
}

}  // namespace

TEST_CASE("harmless values of fields wsd cannot honour are accepted, as OpenAI's own defaults", "[serve][chat_api]") {
  for (const json& extra : {json{{"tool_choice", "none"}}, json{{"response_format", {{"type", "text"}}}},
                            json{{"logit_bias", json::object()}}, json{{"tools", json::array()}},
                            json{{"logprobs", false}}, json{{"top_logprobs", 0}}, json{{"function_call", "none"}},
                            json{{"parallel_tool_calls", false}}, json{{"frequency_penalty", 0}},
                            json{{"presence_penalty", 0.0}}}) {
    INFO(extra.dump());
    CHECK_NOTHROW(read(request(extra)));
  }
}

TEST_CASE("a field wsd cannot honour is refused with a 400 naming the field and its value", "[serve][chat_api]") {
  for (const auto& [field, value] : {std::pair{"tools", json::array({{{"type", "function"}}})},
                                     std::pair{"tool_choice", json("auto")},
                                     std::pair{"response_format", json{{"type", "json_object"}}},
                                     std::pair{"logit_bias", json{{"50256", -100}}}, std::pair{"logprobs", json(true)}}) {
    const auto e = refusal(request({{field, value}}));
    CHECK(e.status == 400);
    CHECK(e.param == field);
    std::string expected = "'";  // (appended, not +: GCC 12 warns falsely on a chain of string +)
    expected.append(field).append("' = ").append(value.dump()).append(" is not supported");
    CHECK_THAT(e.what(), Catch::StartsWith(expected));
  }
}

TEST_CASE("frequency and presence penalties: 0 is accepted, OpenAI's range is enforced, other values are refused",
          "[serve][chat_api]") {
  auto out_of_range = refusal(request({{"frequency_penalty", 5}}));
  CHECK(out_of_range.param == "frequency_penalty");
  CHECK(std::string(out_of_range.what()) == "'frequency_penalty' = 5 is out of range: it must be in [-2, 2]");
  auto unsupported = refusal(request({{"presence_penalty", 0.5}}));
  CHECK(unsupported.param == "presence_penalty");
  CHECK_THAT(unsupported.what(), Catch::Contains("is not supported by wsd-server (only 0)"));
}

TEST_CASE("a bad wsd field is reported under the name the request gave it", "[serve][chat_api]") {
  for (const auto& [field, value, param] : {std::tuple{"draft_max_tokens", json(-1), "wsd.draft_max_tokens"},
                                            std::tuple{"switch", json("sideways"), "wsd.switch"},
                                            std::tuple{"window", json(0), "wsd.window"},
                                            std::tuple{"threshold", json(1.5), "wsd.threshold"},
                                            std::tuple{"bogus", json(1), "wsd.bogus"}}) {
    INFO(field);
    const auto e = refusal(request({{"wsd", {{field, value}}}}));
    CHECK(e.status == 400);
    CHECK(e.param == param);
  }
  CHECK(refusal(request({{"wsd", {{"draft", {{"temperature", 1}}}}}})).param == "wsd.draft");  // not per request
}

TEST_CASE("max_tokens or max_completion_tokens is the answer's budget, checked against the context", "[serve][chat_api]") {
  CHECK(read(request({{"max_tokens", 7}})).config.max_tokens == 7);
  CHECK(read(request({{"max_completion_tokens", 9}})).config.max_tokens == 9);
  const auto zero = refusal(request({{"max_tokens", 0}}));
  CHECK(zero.param == "max_tokens");
  CHECK(refusal(request({{"max_tokens", 5000}})).param == "max_tokens");  // over the context of 4096
}

TEST_CASE("a request naming a model this server does not serve is a 404 model_not_found, as OpenAI answers it",
          "[serve][chat_api]") {
  const auto e = refusal(request({{"model", "gpt-9"}}));
  CHECK(e.status == 404);
  CHECK(e.param == "model");
  CHECK(e.code == "model_not_found");
  CHECK_THAT(e.what(), Catch::Contains("'gpt-9' does not exist; this server serves 'wsd'"));
  CHECK_NOTHROW(read(request({{"model", "wsd"}})));
}

TEST_CASE("a NUL in a refused value does not cut the error message short", "[serve][chat_api]") {
  const std::string role("us\0er", 5);
  const auto e = refusal(request({{"messages", {{{"role", role}, {"content", "Hi"}}}}}));
  CHECK(e.status == 400);
  CHECK(e.param == "messages[0].role");
  const std::string message = e.body()["error"]["message"];
  CHECK(message.find(role) != std::string::npos);
  CHECK_THAT(message, Catch::EndsWith("is not one of system, developer, user, assistant"));
}
