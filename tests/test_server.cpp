// The strong model on a real server (ctest label "server"): each test starts llama-cpp-python's
// OpenAI-compatible server (or a plain HTTP server) on a free port of 127.0.0.1 and stops it.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <wsd/providers/llama/default_models.hpp>
#include <wsd/providers/llama/llama_cpp.hpp>
#include <wsd/providers/http/openai_http.hpp>
#include <wsd/wsd.hpp>

#include "local_process.hpp"

namespace {

using wsd::test::gemma_server;
using wsd::test::kPython;
using wsd::test::log_path;
const std::string kWork = WSD_TEST_WORK;

wsd::Config small_config() {
  wsd::Config c;  // llama-cpp-python scores ~0.4 s per echoed token with Gemma's 262k vocabulary
  c.draft_max_tokens = 16;
  c.max_tokens = 24;
  c.chunk = 16;  // one scoring request per draft: each re-reads the whole prompt
  return c;
}

std::shared_ptr<const wsd::OpenAIServer> connect(const std::string& url, const std::string& model = "",
                                                 const std::string& key = "") {
  wsd::OpenAIOptions o;
  o.url = url;
  o.model = model;
  o.http.api_key = key;
  o.http.timeout_s = 300;
  return std::make_shared<const wsd::OpenAIServer>(o);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const wsd::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("the strong model on llama-cpp-python's server: the same switch and text as in-process", "[server]") {
  auto server = gemma_server("remote-vs-local");
  auto remote = connect(server.url());
  CHECK(remote->kind() == wsd::OpenAIServer::Kind::llama_cpp_python);
  REQUIRE(remote->special_tokens().bos == 2);  // Gemma's <bos>, found through /extras/tokenize

  wsd::LlamaProvider weak(wsd::default_weak_model(), {.context = 1024});
  wsd::LlamaProvider local(wsd::default_strong_model(), {.context = 1024});
  wsd::OpenAISequence sequence(remote);
  const wsd::Config cfg = small_config();
  auto on_server = wsd::make_decoder(weak, sequence, cfg);
  auto in_process = wsd::make_decoder(weak, local, cfg);

  auto prompts = wsd::read_conversations(WSD_SOURCE_DIR "/examples/prompts.jsonl");
  prompts.resize(6);
  double max_diff = 0.0, max_gap = 0.0;
  std::size_t compared = 0, parted = 0;
  for (const auto& c : prompts) {
    INFO("conversation " << c.id);
    const wsd::Result a = on_server.decode(c, wsd::Mode::online);
    const wsd::Result b = in_process.decode(c, wsd::Mode::online);
    const std::size_t n = std::min(a.probs.size(), b.probs.size());
    for (std::size_t k = 0; k < n; ++k) max_diff = std::max(max_diff, std::abs(a.probs[k] - b.probs[k]));
    // A window mean within 0.02 of tau may fall on either side with other kernels.
    const bool near_tau = std::any_of(b.window_means.begin(), b.window_means.end(),
                                      [&](double g) { return std::abs(g - cfg.switch_args["threshold"]) < 0.02; });
    if (near_tau) continue;
    ++compared;
    CHECK(a.accept_index == b.accept_index);
    CHECK(a.reason == b.reason);
    CHECK(a.accepted_text == b.accepted_text);
    if (a.text == b.text) continue;
    // Greedy continuations part only where the in-process model's two candidates nearly tie.
    std::size_t i = 0;
    while (i < a.continuation_tokens.size() && i < b.continuation_tokens.size() &&
           a.continuation_tokens[i] == b.continuation_tokens[i])
      ++i;
    REQUIRE(i < std::min(a.continuation_tokens.size(), b.continuation_tokens.size()));
    std::vector<wsd::Token> context = wsd::run_now(in_process.strong().prompt(c)).tokens;
    context.insert(context.end(), b.draft_tokens.begin(), b.draft_tokens.begin() + (b.accept_index + 1));
    context.insert(context.end(), b.continuation_tokens.begin(), b.continuation_tokens.begin() + static_cast<long>(i));
    wsd::FullRowScorer scorer(local);
    scorer.reset();  // the provider still holds the in-process decoder's last conversation
    const double local_pick = wsd::run_now(scorer.score(context, std::span(b.continuation_tokens).subspan(i, 1)))[0];
    const double server_pick = wsd::run_now(scorer.score(context, std::span(a.continuation_tokens).subspan(i, 1)))[0];
    ++parted;
    max_gap = std::max(max_gap, local_pick - server_pick);
    CHECK(local_pick - server_pick < 0.25);  // nats
  }
  WARN("max |p_k(server) - p_k(in-process)| over " << prompts.size() << " prompts: " << max_diff << "; compared "
                                                   << compared << " away from tau; continuations parted on " << parted
                                                   << ", at a log-probability gap of at most " << max_gap << " nats");
  CHECK(compared >= 4);
  CHECK(max_diff < 0.1);  // other kernels (the server repacks weights), the same model
}

TEST_CASE("through the server, the online decoder matches the offline reference token for token", "[server]") {
  auto server = gemma_server("online-offline");
  auto remote = connect(server.url());
  wsd::LlamaProvider weak(wsd::default_weak_model(), {.context = 1024});
  wsd::OpenAISequence sequence(remote);
  wsd::Config cfg = small_config();
  cfg.chunk = 8;  // online reads the draft in two requests, offline in one
  auto decoder = wsd::make_decoder(weak, sequence, cfg);
  const std::size_t before = remote->requests();
  std::size_t answers = 0;
  for (const auto& c : wsd::read_conversations(WSD_SOURCE_DIR "/tests/data/server-prompts.jsonl")) {
    INFO("conversation " << c.id);
    const wsd::Result offline = decoder.decode(c, wsd::Mode::offline);
    const wsd::Result online = decoder.decode(c, wsd::Mode::online);
    answers += 2;
    REQUIRE(online.accept_index == offline.accept_index);
    CHECK(online.reason == offline.reason);
    CHECK(online.text == offline.text);
    CHECK(online.continuation_tokens == offline.continuation_tokens);
    REQUIRE(online.probs.size() == offline.probs.size());
    CHECK(std::equal(online.probs.begin(), online.probs.end(), offline.probs.begin()));  // bit for bit
    CHECK_FALSE(online.text.empty());
  }
  WARN("HTTP requests per answer: " << static_cast<double>(remote->requests() - before) / static_cast<double>(answers));
}

TEST_CASE("a model without BOS behind llama-cpp-python's server is refused (its issue 1983)", "[server]") {
  wsd::test::LlamaServer server(kPython, wsd::default_weak_model(), log_path("no-bos"));
  const std::string e = error_of([&] { connect(server.url()); });
  CHECK_THAT(e, Catch::Contains(server.url()));
  CHECK_THAT(e, Catch::Contains("issue #1983"));
  CHECK_THAT(e, Catch::Contains("not the top-1"));
}

TEST_CASE("the server's API key and model name: a clear error when either is wrong", "[server]") {
  auto server = gemma_server("api-key", {"--api_key", "secret-token-123"});
  const std::string no_key = error_of([&] { connect(server.url()); });
  CHECK_THAT(no_key, Catch::Contains("GET " + server.url() + "/models: HTTP 401"));
  CHECK_THAT(no_key, !Catch::Contains("secret-token-123"));
  const std::string wrong_key = error_of([&] { connect(server.url(), "", "not-the-key"); });
  CHECK_THAT(wrong_key, Catch::Contains("HTTP 401"));
  CHECK_THAT(wrong_key, !Catch::Contains("not-the-key"));
  const std::string wrong_model = error_of([&] { connect(server.url(), "no-such-model", "secret-token-123"); });
  CHECK_THAT(wrong_model, Catch::Contains("does not serve model \"no-such-model\""));
  CHECK_THAT(wrong_model, Catch::Contains("gemma-3-270m-Q4_K_M.gguf"));  // what it does serve
  auto remote = connect(server.url(), "", "secret-token-123");
  wsd::OpenAISequence sequence(remote);
  const auto tokens = wsd::tokenize_with_bos(sequence, "The capital of France is Paris");
  const auto p = wsd::run_now(sequence.score(std::span(tokens).first(tokens.size() - 1), std::span(tokens).last(1)));
  REQUIRE(p.size() == 1);
  CHECK((p[0] < 0.0 && p[0] > -5.0));  // " Paris" after "The capital of France is"
}

TEST_CASE("a listening socket that is not an OpenAI server gives a clear error, no crash", "[server]") {
  const std::string dir = kWork + "/plain-http";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/v2");
  const int port = wsd::test::free_port();
  wsd::test::ChildProcess plain(
      {kPython, "-m", "http.server", std::to_string(port), "--bind", "127.0.0.1", "--directory", dir},
      log_path("plain-http"));
  const std::string root = "http://127.0.0.1:" + std::to_string(port);
  wsd::test::wait_until_listening(plain, root + "/");

  SECTION("404 for /v1/models") {
    const std::string e = error_of([&] { connect(root + "/v1"); });
    CHECK_THAT(e, Catch::Contains("GET " + root + "/v1/models: HTTP 404"));
  }
  SECTION("an HTML page where /models should be") {
    std::ofstream(dir + "/v2/models") << "<html><body>Not an API</body></html>\n";
    const std::string e = error_of([&] { wsd::OpenAIServer s({root + "/v2", "", {}}); });
    CHECK_THAT(e, Catch::Contains("ending in /v1"));
    std::filesystem::create_directories(dir + "/v1");
    std::ofstream(dir + "/v1/models") << "<html><body>Not an API</body></html>\n";
    const std::string html = error_of([&] { connect(root + "/v1"); });
    CHECK_THAT(html, Catch::Contains("GET " + root + "/v1/models: the answer is not JSON: \"<html>"));
    std::filesystem::remove(dir + "/v1/models");
  }
  SECTION("JSON without the fields of an OpenAI server") {
    std::filesystem::create_directories(dir + "/v1");
    std::ofstream(dir + "/v1/models") << "{\"hello\": 1}\n";
    const std::string e = error_of([&] { connect(root + "/v1"); });
    CHECK_THAT(e, Catch::Contains(root + "/v1/models: the answer has no /data"));
    std::filesystem::remove(dir + "/v1/models");
  }
  SECTION("nothing listening: refused, retried a bounded number of times") {
    wsd::OpenAIOptions o{"http://127.0.0.1:" + std::to_string(wsd::test::free_port()) + "/v1", "", {}};
    o.http.retries = 2;
    o.http.backoff_s = 0.05;
    const std::string e = error_of([&] { wsd::OpenAIServer s(o); });
    CHECK_THAT(e, Catch::Contains("could not connect"));
    CHECK_THAT(e, Catch::Contains("(after 3 attempts)"));
  }
}
