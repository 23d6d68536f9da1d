// Many conversations in flight: the same records whatever the batching, online == offline with
// both batched, a failing conversation fails alone, and the scheduler's own rules.
#include <catch2/catch.hpp>
#include <wsd/serve/pair_service.hpp>
#include <wsd/wsd.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <mutex>
#include <set>
#include <map>
#include <random>
#include <thread>

#include "loop_ends.hpp"
#include "toy_providers.hpp"

namespace {

struct Setup {
  wsd::Config config;
  toy::ModelShape weak, strong;
  bool shared = false;
};

Setup random_setup(std::mt19937_64& rng, bool sampling) {
  auto pick = [&](std::size_t lo, std::size_t hi) { return lo + rng() % (hi - lo + 1); };
  auto real = [&](double lo, double hi) { return lo + (hi - lo) * toy::unit(rng()); };
  Setup s;
  s.config.switch_args["threshold"] = real(0.05, 0.95);
  s.config.switch_args["window"] = pick(1, 6);
  s.config.chunk = pick(1, 10);
  s.config.draft_max_tokens = pick(0, 40);
  s.config.max_tokens = pick(1, 60);
  s.shared = rng() % 3 == 0;
  s.config.shared_vocabulary = s.shared;
  if (sampling) {
    s.config.draft = {real(0.3, 1.5), real(0.5, 1.0), static_cast<int>(pick(0, 20)), rng()};
    s.config.continuation = {real(0.3, 1.5), real(0.5, 1.0), static_cast<int>(pick(0, 20)), rng()};
  }
  s.weak = {rng(), real(2.0, 6.0), real(0.2, 1.5), real(-4.0, 0.0)};
  s.strong = {rng(), real(2.0, 6.0), real(0.2, 1.5), real(-4.0, 0.0)};
  return s;
}

std::vector<wsd::Conversation> random_conversations(std::mt19937_64& rng, std::size_t n, const std::string& prefix) {
  const char* words[] = {"tea", "note", "east", "his", "oat", "a", "Hi there", "in", "sea", "tin"};
  std::vector<wsd::Conversation> out;
  for (std::size_t i = 0; i < n; ++i) {
    wsd::Conversation c;
    c.id = prefix + std::to_string(i);
    const std::size_t words_n = 1 + rng() % 6;
    std::string text;
    for (std::size_t w = 0; w < words_n; ++w) text += std::string(w ? " " : "") + words[rng() % 10];
    c.messages.push_back({"user", text + "?"});
    out.push_back(c);
  }
  return out;
}

toy::Vocabulary strong_vocab(const Setup& s) { return s.shared ? toy::Vocabulary::characters() : toy::Vocabulary::words(); }

// n slots over two batched toy engines (with at least n sequences each): their sequences, and one
// decoder per slot for a configuration.
struct ToySlots {
  std::shared_ptr<toy::ToyBatchedModel> weak, strong;
  std::deque<toy::ToyBatchedModel::Sequence> ws, ss;
  ToySlots(const Setup& s, std::size_t n, std::uint64_t order = 7, std::size_t strong_capacity = std::size_t(-1),
           std::size_t sequences = 0)
      : weak(std::make_shared<toy::ToyBatchedModel>(toy::Vocabulary::characters(), s.weak, std::max(n, sequences),
                                                     std::size_t(-1), order)),
        strong(std::make_shared<toy::ToyBatchedModel>(strong_vocab(s), s.strong, std::max(n, sequences),
                                                       strong_capacity, order + 1)) {
    for (std::size_t i = 0; i < n; ++i) {
      ws.push_back(toy::ToyBatchedModel::sequence(weak, i));
      ss.push_back(toy::ToyBatchedModel::sequence(strong, i));
    }
  }
  auto decoders(const wsd::Config& cfg) {
    using Decoder = decltype(wsd::make_decoder(ws[0], ss[0], cfg));
    std::vector<Decoder> out;
    for (std::size_t i = 0; i < ws.size(); ++i) out.push_back(wsd::make_decoder(ws[i], ss[i], cfg));
    return out;
  }
};

// A record without its timing: what must not depend on the batching.
nlohmann::json record(const wsd::Result& r) {
  nlohmann::json j = wsd::to_json(r);
  j.erase("timing");
  return j;
}

// One conversation after another on plain providers: the reference.
std::map<std::string, nlohmann::json> sequential(const Setup& s, const std::vector<wsd::Conversation>& cs, wsd::Mode mode) {
  toy::ToyProvider weak(toy::Vocabulary::characters(), s.weak), strong(strong_vocab(s), s.strong);
  wsd::Config cfg = s.config;
  cfg.mode = mode;
  auto decoder = wsd::make_decoder(weak, strong, cfg);
  std::map<std::string, nlohmann::json> out;
  for (const auto& c : cs) out[c.id] = record(decoder.decode(c));
  return out;
}

struct Batched {
  std::map<std::string, nlohmann::json> records;
  std::map<std::string, std::string> errors;
  std::size_t widest = 0;
};

// N slots, each with its own sequences of two batched toy engines, through one engine loop.
Batched batched(const Setup& s, const std::vector<wsd::Conversation>& cs, std::size_t workers, wsd::Mode mode,
                bool reference_passes = false, std::size_t strong_capacity = std::size_t(-1), std::uint64_t order = 7) {
  ToySlots slots(s, workers, order, strong_capacity);
  wsd::Config cfg = s.config;
  cfg.mode = mode;
  auto decoders = slots.decoders(cfg);
  Batched out;
  auto on_done = [&](wsd::Outcome o) {
    const std::string& id = cs[o.index].id;
    REQUIRE(out.records.count(id) + out.errors.count(id) == 0);  // each conversation ends once
    if (o.result) {
      out.records[id] = record(*o.result);
    } else {
      try {
        std::rethrow_exception(o.error);
      } catch (const std::exception& e) {
        out.errors[id] = e.what();
      }
    }
  };
  if (reference_passes) wsd::decode_offline_batched(std::span(decoders), std::span(cs), on_done);
  else wsd::decode_parallel(std::span(decoders), std::span(cs), on_done);
  out.widest = std::max(slots.weak->widest, slots.strong->widest);
  return out;
}

}  // namespace

TEST_CASE("the same records whatever the batching: 1 worker, 4 workers, and among unrelated conversations "
          "(60 random sets, online and offline)", "[parallel]") {
  std::mt19937_64 rng(2026);
  std::size_t widest = 0;
  for (int round = 0; round < 60; ++round) {
    const bool sampling = round % 2 == 1;
    const Setup s = random_setup(rng, sampling);
    const wsd::Mode mode = round % 3 == 2 ? wsd::Mode::offline : wsd::Mode::online;
    const auto set = random_conversations(rng, 1 + rng() % 7, "c");
    auto mixed = random_conversations(rng, 1 + rng() % 5, "other-");
    for (std::size_t i = 0; i < set.size(); ++i) mixed.insert(mixed.begin() + static_cast<long>(rng() % (mixed.size() + 1)), set[i]);
    INFO("round " << round << ", " << set.size() << " conversations, " << wsd::to_string(mode));
    const auto expected = sequential(s, set, mode);
    const Batched one = batched(s, set, 1, mode);
    const Batched four = batched(s, set, 4, mode, false, std::size_t(-1), rng());
    const Batched among = batched(s, mixed, 3, mode, false, std::size_t(-1), rng());
    REQUIRE(one.errors.empty());
    REQUIRE(four.errors.empty());
    REQUIRE(among.errors.empty());
    for (const auto& c : set) {
      INFO(c.id);
      CHECK(one.records.at(c.id) == expected.at(c.id));
      CHECK(four.records.at(c.id) == expected.at(c.id));
      CHECK(among.records.at(c.id) == expected.at(c.id));
    }
    CHECK(one.widest == 1);  // one worker: nothing to merge
    widest = std::max({widest, four.widest, among.widest});
  }
  CHECK(widest >= 3);  // the batches did merge calls of several conversations
}

TEST_CASE("the reference's passes batched over a set give what it gives one conversation at a time, and "
          "online equals it under greedy decoding", "[parallel][offline]") {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 30; ++round) {
    const Setup s = random_setup(rng, /*sampling=*/round % 2 == 1);
    const auto set = random_conversations(rng, 2 + rng() % 6, "c");
    INFO("round " << round);
    const auto offline = sequential(s, set, wsd::Mode::offline);
    const Batched passes = batched(s, set, 1 + rng() % 4, wsd::Mode::offline, /*reference_passes=*/true);
    const Batched online = batched(s, set, 4, wsd::Mode::online);
    REQUIRE(passes.errors.empty());
    for (const auto& c : set) {
      INFO(c.id);
      CHECK(passes.records.at(c.id) == offline.at(c.id));
      const auto& on = online.records.at(c.id);
      const auto& off = offline.at(c.id);
      CHECK(on["switch"]["index"] == off["switch"]["index"]);
      CHECK(on["text"] == off["text"]);
      CHECK(on["continuation"]["tokens"] == off["continuation"]["tokens"]);
    }
  }
}

TEST_CASE("a conversation too long for its context fails alone and the others in its batches are unchanged",
          "[parallel][errors]") {
  std::mt19937_64 rng(5);
  Setup s = random_setup(rng, false);
  s.config.draft_max_tokens = 20;
  s.config.max_tokens = 30;
  auto set = random_conversations(rng, 6, "c");
  set[2].messages[0].content = std::string(600, 'a');  // its prompt alone overflows a 200-token context
  for (bool passes : {false, true}) {
    INFO((passes ? "batched reference passes" : "online"));
    const wsd::Mode mode = passes ? wsd::Mode::offline : wsd::Mode::online;
    const auto expected = sequential(s, set, mode);
    const Batched got = batched(s, set, 3, mode, passes, /*strong_capacity=*/200);
    REQUIRE(got.errors.size() == 1);
    CHECK_THAT(got.errors.at("c2"), Catch::Contains("conversation 'c2'") && Catch::Contains("do not fit"));
    CHECK(got.records.size() == set.size() - 1);
    for (const auto& [id, r] : got.records) CHECK(r == expected.at(id));
  }
}


TEST_CASE("one engine loop: 64 conversations with random failures and random cancels each end exactly once, "
          "and the others equal their one-at-a-time records",
          "[parallel][loop]") {
  std::mt19937_64 rng(64);
  std::size_t failed = 0, cancelled = 0, equal = 0;
  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    const Setup s = random_setup(rng, round == 1);
    const auto set = random_conversations(rng, 64, "c");
    const auto expected = sequential(s, set, wsd::Mode::online);
    const std::size_t slots = 1 + rng() % 8;
    ToySlots toys(s, slots, rng());
    const std::uint64_t fail_seed = rng();
    auto fails = [fail_seed](std::size_t n) { return toy::mix(fail_seed ^ n) % 97 == 0; };  // about 1 call in 97
    toys.weak->fail = fails;
    toys.strong->fail = fails;

    std::mutex mutex;
    std::condition_variable all_done;
    std::map<std::size_t, int> ends;  // id -> how many times it ended
    std::map<std::size_t, wsd::Outcome> outcomes;
    std::set<std::size_t> cancel_asked;
    {
      wsd::DecodeLoop loop(toys.decoders(s.config));
      loop.start();  // its own thread; this one submits and cancels meanwhile
      std::vector<std::size_t> ids;
      for (const auto& c : set) {
        ids.push_back(loop.submit(c, [&](wsd::Outcome o) {
          std::lock_guard lock(mutex);
          ++ends[o.index];
          outcomes[o.index] = std::move(o);
          all_done.notify_all();
        }));
        if (rng() % 4 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 300));
        if (rng() % 6 == 0) {  // a random earlier one
          const std::size_t victim = ids[rng() % ids.size()];
          std::lock_guard lock(mutex);
          cancel_asked.insert(victim);
          loop.cancel(victim);
        }
      }
      std::unique_lock lock(mutex);
      REQUIRE(all_done.wait_for(lock, std::chrono::seconds(120), [&] { return ends.size() == set.size(); }));
    }
    for (std::size_t i = 0; i < set.size(); ++i) {
      INFO(set[i].id);
      REQUIRE(ends.at(i) == 1);
      const wsd::Outcome& o = outcomes.at(i);
      if (o.error) {
        try {
          std::rethrow_exception(o.error);
        } catch (const wsd::CancelledError&) {
          CHECK(cancel_asked.count(i) == 1);
          ++cancelled;
        } catch (const wsd::ProviderError& e) {
          CHECK_THAT(e.what(), Catch::Contains("conversation '" + set[i].id + "'") && Catch::Contains("failed"));
          ++failed;
        }
      } else if (o.result->cancelled()) {
        CHECK(cancel_asked.count(i) == 1);
        ++cancelled;
      } else {
        CHECK(record(*o.result) == expected.at(set[i].id));
        ++equal;
      }
    }
  }
  INFO("failed " << failed << ", cancelled " << cancelled << ", equal " << equal);
  CHECK(failed > 0);  // the three kinds of end all happened
  CHECK(cancelled > 0);
  CHECK(equal > 100);
}

// ToySlots as a server's pairs: weak(i) and strong(i).
struct ToyPairs : ToySlots {
  using ToySlots::ToySlots;
  std::size_t size() const { return ws.size(); }
  toy::ToyBatchedModel::Sequence& weak(std::size_t i) { return ws.at(i); }
  toy::ToyBatchedModel::Sequence& strong(std::size_t i) { return ss.at(i); }
};

TEST_CASE("a pair service answers each conversation with its own configuration, as a decoder made with it "
          "does one at a time, prompt lengths as the models read them, and a cancelled one ends once",
          "[parallel][loop][serve]") {
  std::mt19937_64 rng(21);
  std::size_t equal = 0, cancelled = 0;
  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    const Setup s = random_setup(rng, round == 1);
    const auto set = random_conversations(rng, 16, "r");
    std::vector<wsd::Config> configs;  // each request its own rule, limits and mode
    for (std::size_t i = 0; i < set.size(); ++i) {
      wsd::Config c = s.config;
      c.switch_args["threshold"] = 0.05 + 0.9 * toy::unit(rng());
      c.draft_max_tokens = rng() % 30;
      c.mode = rng() % 2 ? wsd::Mode::online : wsd::Mode::offline;
      configs.push_back(c);
    }
    toy::ToyProvider weak(toy::Vocabulary::characters(), s.weak), strong(strong_vocab(s), s.strong);
    wsd::serve::PairLoop service(std::make_unique<ToyPairs>(s, 1 + rng() % 4, rng()));
    for (const auto& c : set) {
      CHECK(service.weak_prompt_tokens(c) == wsd::tokenize_with_bos(weak, wsd::ChatTemplate(weak).render(c)).size());
      CHECK(service.strong_prompt_tokens(c) == wsd::tokenize_with_bos(strong, wsd::BaseModelTemplate{}.render(c)).size());
    }
    wsd::test::Ends ends;
    std::vector<std::size_t> ids;
    std::set<std::size_t> cancel_asked;  // by index in the set
    for (std::size_t i = 0; i < set.size(); ++i) {
      ids.push_back(service.submit(configs[i], set[i], {}, ends.on_done()));
      if (rng() % 5 == 0) {
        const std::size_t victim = rng() % ids.size();
        cancel_asked.insert(victim);
        service.cancel(ids[victim]);
      }
    }
    REQUIRE(ends.wait(set.size(), std::chrono::seconds(120)));
    for (std::size_t i = 0; i < set.size(); ++i) {
      INFO(set[i].id);
      CHECK(ends.count.at(ids[i]) == 1);
      const wsd::Outcome& o = ends.outcomes.at(ids[i]);
      if (o.error || o.result->cancelled()) {  // a waiting one ends with CancelledError
        CHECK(cancel_asked.count(i) == 1);
        if (o.error) CHECK_THROWS_AS(std::rethrow_exception(o.error), wsd::CancelledError);
        ++cancelled;
        continue;
      }
      auto decoder = wsd::make_decoder(weak, strong, configs[i]);
      CHECK(record(*o.result) == record(decoder.decode(set[i])));
      ++equal;
    }
  }
  INFO("equal " << equal << ", cancelled " << cancelled);
  CHECK(equal >= 36);  // most of the 48 ran to their end
  CHECK(cancelled > 0);
}

TEST_CASE("a pair service makes each request's decoder with the samplers it was given", "[parallel][loop][serve]") {
  std::mt19937_64 rng(22);
  Setup s = random_setup(rng, false);
  s.strong.eos = -30.0;  // the base model writes all 40 tokens: repeats for the penalty to act on
  const auto set = random_conversations(rng, 8, "p");
  wsd::Config cfg = s.config;
  cfg.draft_max_tokens = 2;  // mostly the base model's writing, where the penalty acts
  cfg.max_tokens = 40;
  cfg.continuation.repetition_penalty = 3.0;
  cfg.strong_stop_strings.clear();  // the toy base model soon writes "[Assistant]": let it go on
  auto penalised = [](const wsd::Config& c) {
    return wsd::Samplers{wsd::Sampler(c.draft), wsd::ProcessedSampler<>::from(c.continuation)};
  };
  toy::ToyProvider weak(toy::Vocabulary::characters(), s.weak), strong(strong_vocab(s), s.strong);
  wsd::serve::PairLoop service(std::make_unique<ToyPairs>(s, 2, rng()), penalised);
  wsd::test::Ends ends;
  std::vector<std::size_t> ids;
  for (const auto& c : set) ids.push_back(service.submit(cfg, c, {}, ends.on_done()));
  REQUIRE(ends.wait(set.size(), std::chrono::seconds(60)));
  std::size_t differ = 0;
  for (std::size_t i = 0; i < set.size(); ++i) {
    INFO(set[i].id);
    const wsd::Outcome& o = ends.outcomes.at(ids[i]);
    REQUIRE(o.result);
    auto with = wsd::make_decoder(weak, strong, cfg, penalised(cfg));
    wsd::Config plain = cfg;
    plain.continuation.repetition_penalty = 1.0;
    auto without = wsd::make_decoder(weak, strong, plain);
    CHECK(record(*o.result) == record(with.decode(set[i])));
    differ += o.result->text != without.decode(set[i]).text;
  }
  CHECK(differ > 0);  // the penalty changed answers: the samplers given were the ones used
}

TEST_CASE("destroying a decode loop with 16 conversations in flight ends each of them and returns",
          "[parallel][loop]") {
  std::mt19937_64 rng(16);
  Setup s = random_setup(rng, false);
  s.config.draft_max_tokens = 40;
  s.config.max_tokens = 60;
  s.config.chunk = 1;
  const auto set = random_conversations(rng, 40, "c");
  ToySlots toys(s, 16);
  std::atomic<int> ended{0}, errors{0};
  for (bool threaded : {true, false}) {
    INFO((threaded ? "on its own thread" : "driven by this thread"));
    ended = 0;
    errors = 0;
    {
      wsd::DecodeLoop loop(toys.decoders(s.config));
      for (const auto& c : set)
        loop.submit(c, [&](wsd::Outcome o) {
          ++ended;
          if (o.error || o.result->cancelled()) ++errors;  // given up or cancelled
        });
      if (threaded) {
        loop.start();
        while (ended < 2) std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    }  // 16 in flight (or about to be), the rest waiting
    CHECK(ended == static_cast<int>(set.size()));  // each once: the destructor waited for all
    CHECK(errors >= 1);                             // those in flight or waiting were cancelled
    if (!threaded) CHECK(errors == static_cast<int>(set.size()));  // never ran: all cancelled
  }
}

TEST_CASE("a decode loop's callback may submit more, cancel, and call the models itself", "[parallel][loop]") {
  std::mt19937_64 rng(3);
  const Setup s = random_setup(rng, false);
  const auto set = random_conversations(rng, 6, "c");
  const auto expected = sequential(s, set, wsd::Mode::online);
  ToySlots toys(s, 3, 7, std::size_t(-1), /*sequences=*/4);  // a fourth sequence for the callback
  toy::ToyProvider plain_weak(toy::Vocabulary::characters(), s.weak), plain_strong(strong_vocab(s), s.strong);
  wsd::DecodeLoop loop(toys.decoders(s.config));
  std::map<std::string, nlohmann::json> got;
  std::function<void(std::size_t)> submit_next = [&](std::size_t i) {
    if (i >= set.size()) return;
    loop.submit(set[i], [&, i](wsd::Outcome o) {
      REQUIRE(o.result);
      got[set[i].id] = record(*o.result);
      submit_next(i + 2);  // the callback submits the next one
      auto side = wsd::make_decoder(plain_weak, plain_strong, s.config);
      CHECK(record(side.decode(set[i])) == expected.at(set[i].id));  // and decodes by itself
      auto one = toy::ToyBatchedModel::sequence(toys.weak, 3);  // the fourth sequence of the loop's engine
      const wsd::Token t = 1;
      const std::size_t row = 0;
      one.rollback(0);
      CHECK(wsd::run_now(one.append(std::span<const wsd::Token>(&t, 1), std::span<const std::size_t>(&row, 1))).rows == 1);
    });
  };
  submit_next(0);
  submit_next(1);
  loop.run_until_idle();
  REQUIRE(got.size() == set.size());
  for (const auto& c : set) CHECK(got.at(c.id) == expected.at(c.id));
}

namespace {
// An engine that doubles what it is given; records the batches' sizes.
class Doubler : public wsd::Engine {
 public:
  struct Call : wsd::EngineCall {
    int value = 0;
    int result = 0;
  };
  static auto add(std::shared_ptr<Doubler> e, int v) {
    Call call;
    call.value = v;
    return wsd::posted(std::move(e), call, [](Call& c) {
      if (c.error) std::rethrow_exception(c.error);
      return c.result;
    });
  }
  std::vector<std::size_t> sizes;
  int fail_on = -1;

 private:
  void run(std::span<wsd::EngineCall* const> calls) override {
    sizes.push_back(calls.size());
    for (auto* r : calls) {
      auto* c = static_cast<Call*>(r);
      if (c->value == fail_on) c->error = std::make_exception_ptr(wsd::ProviderError("doubler: cannot add " + std::to_string(fail_on)));
      c->result = c->value * 2;
    }
  }
};

// An engine whose calls finish later: each after `polls` polls (a server's requests).
class Later : public wsd::Engine {
 public:
  explicit Later(int polls) : polls_(polls) {}
  bool completes_later() const override { return true; }
  void poll(const wsd::CallQueue*, std::chrono::milliseconds, std::vector<wsd::EngineCall*>& finished) override {
    for (auto& [call, left] : flight_)
      if (--left == 0) finished.push_back(call);
    std::erase_if(flight_, [](const auto& f) { return f.second <= 0; });
  }
  void abandon(wsd::EngineCall& call) override {
    for (auto& f : flight_)
      if (f.first == &call) {
        call.error = std::make_exception_ptr(wsd::CancelledError("given up"));
        f.second = 1;
      }
  }
  std::size_t started = 0;

 private:
  void run(std::span<wsd::EngineCall* const> calls) override {
    for (auto* c : calls) flight_.emplace_back(c, polls_);
    started += calls.size();
  }
  int polls_;
  std::vector<std::pair<wsd::EngineCall*, int>> flight_;
};

auto wait_for(std::shared_ptr<Later> e) {
  return wsd::posted(std::move(e), wsd::EngineCall{}, [](wsd::EngineCall& c) {
    if (c.error) std::rethrow_exception(c.error);
  });
}

wsd::Task<void> adds(std::shared_ptr<Doubler> e, int first, int rounds, std::vector<int>& out) {
  for (int r = 0; r < rounds; ++r) out.push_back(co_await Doubler::add(e, first + r));
}
}  // namespace

TEST_CASE("the engine loop runs the calls its coroutines await as one batch per engine", "[parallel][loop]") {
  auto engine = std::make_shared<Doubler>();
  SECTION("four coroutines, one call each per round: each round is one batch of four") {
    wsd::EngineLoop loop;
    std::vector<std::vector<int>> out(4);
    for (int i = 0; i < 4; ++i) loop.spawn(adds(engine, 10 * i, 5, out[static_cast<std::size_t>(i)]));
    loop.run_until_idle();
    CHECK(engine->sizes == std::vector<std::size_t>(5, 4));
    CHECK(loop.widest_batch() == 4);
    CHECK(loop.calls() == 20);
    for (int i = 0; i < 4; ++i) CHECK(out[static_cast<std::size_t>(i)] == std::vector<int>{20 * i, 20 * i + 2, 20 * i + 4, 20 * i + 6, 20 * i + 8});
  }
  SECTION("a call that fails fails its own coroutine only") {
    engine->fail_on = 11;
    wsd::EngineLoop loop;
    std::vector<int> a, b;
    std::string error;
    auto guarded = [&](std::vector<int>& out, int first) -> wsd::Task<void> {
      try {
        co_await adds(engine, first, 3, out);
      } catch (const wsd::ProviderError& e) {
        error = e.what();
      }
    };
    loop.spawn(guarded(a, 10));
    loop.spawn(guarded(b, 20));
    loop.run_until_idle();
    CHECK(error == "doubler: cannot add 11");
    CHECK(a == std::vector<int>{20});
    CHECK(b == std::vector<int>{40, 42, 44});
  }
  SECTION("without a loop a call runs at once, alone") {
    std::vector<int> out;
    wsd::run_now(adds(engine, 2, 2, out));
    CHECK(out == std::vector<int>{4, 6});
    CHECK(engine->sizes == std::vector<std::size_t>{1, 1});
  }
  SECTION("a coroutine waiting on an engine that completes later holds up no batch") {
    auto later = std::make_shared<Later>(1000);
    wsd::EngineLoop loop;
    bool waited = false;
    auto waiter = [&]() -> wsd::Task<void> {
      co_await wait_for(later);
      waited = true;
    };
    std::vector<int> a, b;
    loop.spawn(waiter());
    loop.spawn(adds(engine, 1, 4, a));
    loop.spawn(adds(engine, 5, 4, b));
    while (a.size() < 4 || b.size() < 4) REQUIRE(loop.step(std::chrono::milliseconds(0)));
    CHECK(!waited);  // the server's call is still out; the local batches went on without it
    CHECK(engine->sizes == std::vector<std::size_t>(4, 2));
    loop.run_until_idle();
    CHECK(waited);
  }
}

TEST_CASE("without a loop, sequences of one engine used from several threads at once are served one call at a "
          "time: the records are the ones of one thread",
          "[parallel][loop]") {
  std::mt19937_64 rng(44);
  const Setup s = random_setup(rng, true);
  const auto set = random_conversations(rng, 8, "c");
  const auto expected = sequential(s, set, wsd::Mode::online);
  auto weak = std::make_shared<toy::ToyBatchedModel>(toy::Vocabulary::characters(), s.weak, 4);
  auto strong = std::make_shared<toy::ToyBatchedModel>(strong_vocab(s), s.strong, 4);
  std::vector<std::map<std::string, nlohmann::json>> got(4);
  {
    std::vector<std::jthread> threads;
    for (std::size_t t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        auto w = toy::ToyBatchedModel::sequence(weak, t);
        auto st = toy::ToyBatchedModel::sequence(strong, t);
        auto decoder = wsd::make_decoder(w, st, s.config);
        for (std::size_t i = t; i < set.size(); i += 4) got[t][set[i].id] = record(decoder.decode(set[i]));
      });
  }
  for (std::size_t t = 0; t < 4; ++t)
    for (const auto& [id, r] : got[t]) CHECK(r == expected.at(id));
  CHECK(weak->widest == 1);  // each call ran alone
}
