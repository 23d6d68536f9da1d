// Conversations in flight with the strong model on a real server (llama-cpp-python on a free port
// of 127.0.0.1), driven by one engine loop through libcurl's multi interface, and the server's
// faults: it dies mid-run, the loop is destroyed with requests out. The drafter is a toy engine,
// so these tests need no llama.cpp in this process and run under ThreadSanitizer (make tsan).
#include <catch2/catch.hpp>
#include <wsd/providers/http/openai_http.hpp>
#include <wsd/providers/llama/default_models.hpp>
#include <wsd/wsd.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "local_process.hpp"
#include "loop_ends.hpp"
#include "toy_providers.hpp"

namespace {

using wsd::test::gemma_server;
using wsd::test::kPython;
using wsd::test::log_path;

std::shared_ptr<const wsd::OpenAIServer> connect(const std::string& url, int retries = 3) {
  wsd::OpenAIOptions o;
  o.url = url;
  o.http.timeout_s = 120;
  o.http.retries = retries;
  o.http.backoff_s = 0.05;
  return std::make_shared<const wsd::OpenAIServer>(o);
}

wsd::Config small_config() {
  wsd::Config c;  // the server scores ~0.4 s per echoed token with Gemma's 262k vocabulary
  c.draft_max_tokens = 6;
  c.max_tokens = 10;
  c.chunk = 6;  // one scoring request per draft: each re-reads the whole prompt with every row's logits
  return c;
}

std::vector<wsd::Conversation> prompts(std::size_t n) {
  auto all = wsd::read_conversations(WSD_SOURCE_DIR "/tests/data/server-prompts.jsonl");
  all.resize(std::min(n, all.size()));
  return all;
}

nlohmann::json untimed(const wsd::Result& r) {
  nlohmann::json j = wsd::to_json(r);
  j.erase("timing");
  return j;
}

// n slots: a toy drafter engine with n sequences, and n sequences on the server.
struct Pairs {
  std::shared_ptr<toy::ToyBatchedModel> weak;
  std::deque<toy::ToyBatchedModel::Sequence> weak_seqs;
  std::deque<wsd::OpenAISequence> strong_seqs;
  Pairs(std::shared_ptr<const wsd::OpenAIServer> server, std::size_t n)
      : weak(std::make_shared<toy::ToyBatchedModel>(toy::Vocabulary::words(), toy::ModelShape{5, 3.0, 0.8, -2.0}, n)) {
    for (std::size_t i = 0; i < n; ++i) {
      weak_seqs.push_back(toy::ToyBatchedModel::sequence(weak, i));
      strong_seqs.emplace_back(server);
    }
  }
  auto decoders(const wsd::Config& cfg) {
    using Decoder = decltype(wsd::make_decoder(weak_seqs[0], strong_seqs[0], cfg));
    std::vector<Decoder> out;
    for (std::size_t i = 0; i < weak_seqs.size(); ++i) out.push_back(wsd::make_decoder(weak_seqs[i], strong_seqs[i], cfg));
    return out;
  }
};

using wsd::test::Ends;

// Submits the conversations to a running loop and returns once as many requests went to the server.
template <class Loop>
void submit_until_out(Loop& loop, const std::vector<wsd::Conversation>& cs, Ends& ends, const wsd::OpenAIServer& remote) {
  const std::size_t before = remote.requests();
  for (const auto& c : cs) loop.submit(c, ends.on_done());
  while (remote.requests() < before + cs.size()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

std::string message(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  }
}

}  // namespace

// (A name's first ": " indents Catch's wrapped lines under it: late in a long name, Catch 2 loops.)
TEST_CASE("the strong model on a server: 3 conversations in flight through one engine loop have the records they "
          "have one at a time, their requests out together and none blocking the loop", "[server][loop]") {
  auto server = gemma_server("loop-records");
  auto remote = connect(server.url());
  const auto cs = prompts(3);
  std::map<std::string, nlohmann::json> alone;
  {
    Pairs one(remote, 1);
    auto d = one.decoders(small_config());
    for (const auto& c : cs) alone[c.id] = untimed(d[0].decode(c));  // each request at once, on this thread
  }
  auto fresh = connect(server.url());  // nothing of these conversations known: every token asked for
  Pairs three(fresh, 3);
  wsd::DecodeLoop loop(three.decoders(small_config()));
  Ends ends;
  const std::size_t sent = fresh->requests(), at_once = fresh->requests_at_once();
  for (const auto& c : cs) loop.submit(c, ends.on_done());
  loop.run_until_idle();
  REQUIRE(ends.outcomes.size() == cs.size());
  // Every request of the decoding, the tokenizer's too, was awaited: the loop's thread never blocked on one.
  CHECK(fresh->requests() > sent + 6);
  CHECK(fresh->requests_at_once() == at_once);
  for (std::size_t i = 0; i < cs.size(); ++i) {
    INFO(cs[i].id);
    const wsd::Outcome& o = ends.outcomes.at(i);
    REQUIRE_FALSE(o.error);
    CHECK(untimed(*o.result) == alone.at(cs[i].id));
    CHECK_FALSE(o.result->text.empty());
  }
  CHECK(fresh->engine()->widest() >= 2);  // requests of several conversations were out at once
}

TEST_CASE("the server dies while conversations are in flight: each ends once with an error naming it, and the "
          "loop goes on serving", "[server][loop][faults]") {
  auto server = std::make_unique<wsd::test::LlamaServer>(kPython, wsd::default_strong_model(), log_path("loop-dies"),
                                                         std::vector<std::string>{"--n_batch", "1", "--n_ubatch", "1"});
  auto remote = connect(server->url(), /*retries=*/1);
  const std::string address = "127.0.0.1:" + std::to_string(server->port());
  const auto cs = prompts(4);
  Pairs pairs(remote, 4);
  wsd::Config cfg = small_config();
  cfg.max_tokens = 200;  // long enough to be in flight when the server goes
  cfg.draft_max_tokens = 30;
  Ends ends;
  wsd::DecodeLoop loop(pairs.decoders(cfg));
  loop.start();
  submit_until_out(loop, cs, ends, *remote);
  server->process().stop(SIGKILL);  // gone, mid-request
  REQUIRE(ends.wait(cs.size(), std::chrono::seconds(120)));
  std::size_t errors = 0;
  for (std::size_t i = 0; i < cs.size(); ++i) {
    INFO(cs[i].id);
    CHECK(ends.count.at(i) == 1);
    const wsd::Outcome& o = ends.outcomes.at(i);
    if (!o.error) continue;  // it may have ended before
    ++errors;
    CHECK_THAT(message(o.error), Catch::Contains("conversation '" + cs[i].id + "'") && Catch::Contains(address));
  }
  CHECK(errors >= 1);
  // The loop is still alive: a new conversation gets a clear error, not a hang.
  wsd::Conversation late = cs[0];
  late.id = "late";
  std::promise<wsd::Outcome> got;
  loop.submit(late, [&](wsd::Outcome o) { got.set_value(std::move(o)); });
  auto f = got.get_future();
  REQUIRE(f.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  const wsd::Outcome o = f.get();
  REQUIRE(o.error);  // the server is still gone: a clear error, not a hang
  CHECK_THAT(message(o.error), Catch::Contains("could not connect"));
}

TEST_CASE("destroying the loop with requests out to the server gives them up at once, each conversation ending once",
          "[server][loop][faults]") {
  auto server = gemma_server("loop-destroyed");
  auto remote = connect(server.url());
  const auto cs = prompts(4);
  Pairs pairs(remote, 4);
  wsd::Config cfg = small_config();
  cfg.max_tokens = 400;
  Ends ends;
  {
    wsd::DecodeLoop loop(pairs.decoders(cfg));
    loop.start();
    submit_until_out(loop, cs, ends, *remote);
  }
  REQUIRE(ends.outcomes.size() == cs.size());
  for (std::size_t i = 0; i < cs.size(); ++i) {
    CHECK(ends.count.at(i) == 1);
    const wsd::Outcome& o = ends.outcomes.at(i);
    CHECK((o.error || o.result->cancelled()));  // given up, not written to the end
  }
  CHECK(remote->engine()->in_flight() == 0);  // the engine forgot every request it gave up
}
