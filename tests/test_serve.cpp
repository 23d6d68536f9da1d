// wsd-server's protocol as library types (include/wsd/serve/): the response, chunk and usage
// objects, one request in flight (ChatExchange), admission and drain, and the metrics, tested
// without HTTP. The server tests (tests/server/) drive the same types end to end.
#include <catch2/catch.hpp>
#include <wsd/serve/admission.hpp>
#include <wsd/serve/chat_exchange.hpp>
#include <wsd/serve/metrics.hpp>

#include <atomic>
#include <thread>

using nlohmann::json;

namespace {

// An answer: "Hi" drafted and kept (2 tokens), " there" written by the base model (1 token).
wsd::Result answer(wsd::ContinuationEnd end = wsd::ContinuationEnd::eos) {
  wsd::Result r;
  r.accepted_text = "Hi";
  r.continuation_text = " there";
  r.text = r.accepted_text + r.continuation_text;
  r.accept_index = 1;
  r.reason = wsd::DraftEnd::switched;
  r.probs = {0.9, 0.95, 0.5};
  r.weak_tokens = 3;
  r.strong_generated = 1;
  r.continuation_reason = end;
  r.config = {{"threshold", 0.8}};
  return r;
}

json event_json(const std::string& e) {
  REQUIRE(e.starts_with("data: "));
  REQUIRE(e.ends_with("\n\n"));
  return json::parse(e.substr(6, e.size() - 8));
}

}  // namespace

TEST_CASE("a response holds every choice, the usage and the traces", "[serve]") {
  const wsd::serve::Completion c{"chatcmpl-7", 1700000000, "wsd"};
  const std::vector<wsd::Result> results = {answer(), answer(wsd::ContinuationEnd::length)};
  const json r = c.response(results, 12);
  CHECK(r["id"] == "chatcmpl-7");
  CHECK(r["object"] == "chat.completion");
  CHECK(r["model"] == "wsd");
  REQUIRE(r["choices"].size() == 2);
  CHECK(r["choices"][0]["message"]["content"] == "Hi there");
  CHECK(r["choices"][0]["finish_reason"] == "stop");
  CHECK(r["choices"][1]["finish_reason"] == "length");
  CHECK(r["usage"] == json{{"prompt_tokens", 12}, {"completion_tokens", 6}, {"total_tokens", 18}});
  CHECK(r["wsd"]["choices"][1]["switch"]["index"] == 1);
  CHECK(r["wsd"]["choices"][0]["config"]["threshold"] == 0.8);
  CHECK(c.response(std::span(results).first(1), 12)["wsd"]["switch"]["reason"] == "switch");  // one choice: the trace itself
  CHECK(r["wsd"]["choices"][0] == wsd::to_json(results[0]));  // the record wsd-generate writes, names and all
}

TEST_CASE("a streamed exchange writes the role, the text, the switch marker, the last chunk, the usage and DONE in order",
          "[serve]") {
  auto ex = std::make_shared<wsd::serve::ChatExchange>(wsd::serve::Completion{"id-1", 1, "wsd"}, 1, true, true, 5);
  wsd::Stream s = ex->stream(0);
  std::thread loop([&] {  // the decode loop's thread
    s.draft("Hi");
    s.continuation(" the");
    s.continuation("re");
    wsd::Outcome o;
    o.result = answer();
    ex->end(0, std::move(o));
  });
  std::vector<std::string> events;
  for (int i = 0; i < 100; ++i) {
    auto taken = ex->take(std::chrono::milliseconds(50));
    events.insert(events.end(), taken.events.begin(), taken.events.end());
    if (taken.finished) break;
  }
  loop.join();
  REQUIRE(events.size() == 8);
  CHECK(event_json(events[0])["choices"][0]["delta"] == json{{"role", "assistant"}, {"content", ""}});
  CHECK(event_json(events[1])["choices"][0]["delta"]["content"] == "Hi");
  CHECK(event_json(events[2])["wsd"] == json{{"event", "switch"}});  // before the base model's first text only
  CHECK(event_json(events[3])["choices"][0]["delta"]["content"] == " the");
  CHECK(event_json(events[4])["choices"][0]["delta"]["content"] == "re");
  const json last = event_json(events[5]);
  CHECK(last["choices"][0]["finish_reason"] == "stop");
  CHECK(last["wsd"]["continuation"]["text"] == " there");
  CHECK(event_json(events[6])["usage"]["completion_tokens"] == 3);
  CHECK(events[7] == "data: [DONE]\n\n");
  CHECK(ex->status() == 200);
  CHECK(ex->take(std::chrono::milliseconds(1)).events.empty());  // the ending is written once
}

TEST_CASE("an exchange that does not stream waits for every choice, and a failed one is a 500 naming the request, its "
          "detail in the log", "[serve]") {
  std::vector<std::string> log;
  auto ex = std::make_shared<wsd::serve::ChatExchange>(wsd::serve::Completion{"id-2", 1, "wsd"}, 2, false, false, 4,
                                                       [&](const std::string& line) { log.push_back(line); });
  CHECK_FALSE(static_cast<bool>(ex->stream(0).draft));  // nothing streams
  std::thread loop([&] {
    wsd::Outcome ok;
    ok.result = answer();
    ex->end(1, std::move(ok));
    wsd::Outcome failed;
    failed.error = std::make_exception_ptr(wsd::ProviderError("conversation 'x': /models/secret.gguf: the logits hold NaN"));
    ex->end(0, std::move(failed));
  });
  auto got = ex->wait_response();
  loop.join();
  REQUIRE(std::holds_alternative<wsd::serve::ApiError>(got));
  const auto& e = std::get<wsd::serve::ApiError>(got);
  CHECK(e.status == 500);
  CHECK(e.body()["error"]["message"] == "internal error (request id-2)");  // no internal text
  CHECK(e.body()["error"]["type"] == "server_error");
  REQUIRE(log.size() == 1);
  CHECK(log[0] == "request id-2: choice 0 failed (500): conversation 'x': /models/secret.gguf: the logits hold NaN");
  CHECK(ex->status() == 500);  // what /metrics counts
  ex->finished(500);
  REQUIRE(log.size() == 2);
  CHECK_THAT(log[1], Catch::StartsWith("request id-2: 500, 2 choices, 3 answer tokens, switch_index -, "));
  CHECK_THAT(log[1], Catch::EndsWith(" s"));
}

TEST_CASE("a streamed choice whose conversation overflowed the context ends with a 400 context_length_exceeded event",
          "[serve]") {
  std::vector<std::string> log;
  auto ex = std::make_shared<wsd::serve::ChatExchange>(wsd::serve::Completion{"id-3", 1, "wsd"}, 1, true, false, 4,
                                                       [&](const std::string& line) { log.push_back(line); });
  wsd::Outcome failed;
  failed.error = std::make_exception_ptr(
      wsd::ContextOverflowError("conversation 'x': /models/weak.gguf: 257 tokens do not fit its context window of 256"));
  ex->end(0, std::move(failed));
  const auto taken = ex->take(std::chrono::milliseconds(1));
  REQUIRE(taken.finished);
  REQUIRE(taken.events.size() == 3);  // the role, the error, [DONE]
  const json error = event_json(taken.events[1])["error"];
  CHECK(error["code"] == "context_length_exceeded");
  CHECK(error["message"] == "the conversation does not fit the models' context window (request id-3)");
  CHECK(error["param"] == "messages");
  REQUIRE(log.size() == 1);
  CHECK_THAT(log[0], Catch::Contains("/models/weak.gguf: 257 tokens"));
  CHECK(ex->status() == 400);  // what /metrics counts for the stream, though its HTTP status was 200
}

TEST_CASE("admission takes up to parallel + queue conversations and refuses more with 429", "[serve]") {
  wsd::serve::Admission a(2, 3);
  CHECK(a.admit(4));
  CHECK_FALSE(a.admit(2));  // 6 > 5: all or none of a request's choices
  CHECK(a.outstanding() == 4);
  CHECK(a.admit(1));
  CHECK_FALSE(a.admit(1));
  CHECK(a.refusal().status == 429);
  a.release();
  CHECK(a.admit(1));
  a.release(3);  // a streamed request's places, once its stream is written out
  CHECK(a.outstanding() == 2);
  a.release(9);
  CHECK(a.outstanding() == 0);
  CHECK(a.admit(5));
  a.close();
  CHECK_FALSE(a.admit(1));
  CHECK(a.refusal().status == 503);
}

TEST_CASE("the drain lets conversations finish within the grace, then cancels the rest", "[serve]") {
  SECTION("they finish in time: nothing is cancelled") {
    wsd::serve::Admission a(1, 0);
    REQUIRE(a.admit(1));
    std::thread worker([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      a.release();
    });
    bool cancelled = false;
    CHECK(a.drain(std::chrono::seconds(10), [&] { cancelled = true; }) == 0);
    worker.join();
    CHECK_FALSE(cancelled);
    CHECK(a.closing());
  }
  SECTION("they outlast the grace: cancel_all, and the cancelled ones end") {
    wsd::serve::Admission a(4, 0);
    REQUIRE(a.admit(3));
    std::atomic<bool> cancel{false};
    std::thread workers([&] {
      while (!cancel) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      for (int i = 0; i < 3; ++i) a.release();
    });
    const auto start = std::chrono::steady_clock::now();
    CHECK(a.drain(std::chrono::milliseconds(100), [&] { cancel = true; }) == 0);
    const auto took = std::chrono::steady_clock::now() - start;
    workers.join();
    CHECK(took >= std::chrono::milliseconds(100));
    CHECK(took < std::chrono::seconds(5));  // it did not wait out `after`: the cancelled ones ended
  }
}

TEST_CASE("the metrics count statuses, tokens, cancels and the switch index, with the devices", "[serve]") {
  wsd::serve::Metrics m;
  m.status(200);
  m.status(200);
  m.status(429);
  m.answer(answer());
  wsd::Result cancelled = answer();
  cancelled.continuation_reason = wsd::ContinuationEnd::cancelled;
  cancelled.accept_index = 40;
  m.answer(cancelled);
  m.ended(wsd::Outcome{3, std::nullopt, std::make_exception_ptr(wsd::CancelledError("cancelled before it started"))});
  m.ended(wsd::Outcome{4, std::nullopt, std::make_exception_ptr(wsd::ConfigError("not a cancel"))});
  m.devices("CPU", "Vulkan0: \"soft\" device");
  const std::string t = m.text(7);
  CHECK(m.requests(200) == 2);
  CHECK_THAT(t, Catch::Contains("wsd_requests_total{status=\"200\"} 2\n"));
  CHECK_THAT(t, Catch::Contains("wsd_requests_total{status=\"429\"} 1\n"));
  CHECK_THAT(t, Catch::Contains("wsd_tokens_drafted_total 6\n"));
  CHECK_THAT(t, Catch::Contains("wsd_tokens_judged_total 6\n"));
  CHECK_THAT(t, Catch::Contains("wsd_answers_cancelled_total 2\n"));
  CHECK_THAT(t, Catch::Contains("wsd_queue_length 7\n"));
  CHECK_THAT(t, Catch::Contains("wsd_switch_index_bucket{le=\"2\"} 1\n"));  // 2 drafted tokens kept
  CHECK_THAT(t, Catch::Contains("wsd_switch_index_bucket{le=\"32\"} 1\n"));
  CHECK_THAT(t, Catch::Contains("wsd_switch_index_bucket{le=\"+Inf\"} 2\n"));  // 41 kept
  CHECK_THAT(t, Catch::Contains("wsd_switch_index_sum 43\n"));  // 2 + 41: Prometheus' histogram has its _sum
  CHECK_THAT(t, Catch::Contains("wsd_switch_index_count 2\n"));
  CHECK_THAT(t, Catch::Contains("wsd_model_device{model=\"strong\",device=\"Vulkan0: \\\"soft\\\" device\"} 1\n"));
  CHECK(m.devices_json() == json{{"weak", "CPU"}, {"strong", "Vulkan0: \"soft\" device"}});
  CHECK(m.engines_json() == json{{"weak", nullptr}, {"strong", nullptr}});  // none said: null, as a server's
  m.devices("CPU", "CPU", json{{"physical_batch", 512}}, json{{"physical_batch", 1}});
  CHECK(m.engines_json() == json{{"weak", {{"physical_batch", 512}}}, {"strong", {{"physical_batch", 1}}}});
}
