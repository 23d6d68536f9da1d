// Many conversations in flight: the same records whatever the batching, online == offline with
// both batched, a failing conversation fails alone, and the scheduler's own rules.
#include <catch2/catch.hpp>
#include <wsd/wsd.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <thread>

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

// N workers, each with its own sequences of two batched toy engines under one scheduler.
Batched batched(const Setup& s, const std::vector<wsd::Conversation>& cs, std::size_t workers, wsd::Mode mode,
                bool reference_passes = false, std::size_t strong_capacity = std::size_t(-1), std::uint64_t order = 7) {
  wsd::BatchScheduler scheduler;
  toy::ToyBatchedModel weak(toy::Vocabulary::characters(), s.weak, workers, &scheduler, std::size_t(-1), order);
  toy::ToyBatchedModel strong(strong_vocab(s), s.strong, workers, &scheduler, strong_capacity, order + 1);
  std::deque<toy::ToyBatchedModel::Sequence> weak_seqs, strong_seqs;
  wsd::Config cfg = s.config;
  cfg.mode = mode;
  for (std::size_t w = 0; w < workers; ++w) {
    weak_seqs.push_back(weak.sequence(w));
    strong_seqs.push_back(strong.sequence(w));
  }
  using Decoder = decltype(wsd::make_decoder(weak_seqs[0], strong_seqs[0], cfg));
  std::vector<Decoder> decoders;
  for (std::size_t w = 0; w < workers; ++w) decoders.push_back(wsd::make_decoder(weak_seqs[w], strong_seqs[w], cfg));
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
  if (reference_passes) wsd::decode_offline_batched(std::span(decoders), std::span(cs), &scheduler, on_done);
  else wsd::decode_parallel(std::span(decoders), std::span(cs), &scheduler, on_done);
  out.widest = std::max(weak.widest, strong.widest);
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

namespace {
// An engine that adds up what it is given; records the batches' sizes.
class Summer : public wsd::BatchScheduler::Engine {
 public:
  struct Call : wsd::BatchScheduler::Request {
    int value = 0;
    int result = 0;
  };
  using Engine::Engine;
  int add(int v) {
    Call c;
    c.value = v;
    submit(c);
    return c.result;
  }
  std::vector<std::size_t> sizes;
  int fail_on = -1;

 private:
  void run(const std::vector<wsd::BatchScheduler::Request*>& requests) override {
    sizes.push_back(requests.size());
    for (auto* r : requests) {
      auto* c = static_cast<Call*>(r);
      if (c->value == fail_on) throw wsd::ProviderError("summer: cannot add " + std::to_string(fail_on));
      c->result = c->value * 2;
    }
  }
};
}  // namespace

TEST_CASE("the scheduler runs a batch once every member has submitted, and members away do not hold it up",
          "[parallel][scheduler]") {
  wsd::BatchScheduler scheduler;
  Summer engine(&scheduler);
  SECTION("four members, one call each per round: each round is one batch of four") {
    wsd::for_each_parallel(4, 4, &scheduler, [&](std::size_t, std::size_t i) {
      for (int round = 0; round < 5; ++round) CHECK(engine.add(static_cast<int>(i) + round) == 2 * (static_cast<int>(i) + round));
    });
    CHECK(engine.sizes == std::vector<std::size_t>(5, 4));
    CHECK(scheduler.widest_batch() == 4);
  }
  SECTION("a member away (waiting on something else) does not hold the others' batch") {
    std::atomic<bool> release{false};
    std::jthread away([&] {
      wsd::BatchScheduler::Member member(&scheduler);
      wsd::BatchScheduler::Away gone(&scheduler);
      while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    wsd::for_each_parallel(2, 2, &scheduler, [&](std::size_t, std::size_t i) { CHECK(engine.add(static_cast<int>(i)) == 2 * static_cast<int>(i)); });
    release = true;
    CHECK(engine.sizes.size() >= 1);
  }
  SECTION("a call that fails fails its batch's calls with the error, and the next batch runs") {
    engine.fail_on = 3;
    std::atomic<int> failures{0};
    wsd::for_each_parallel(2, 2, &scheduler, [&](std::size_t, std::size_t i) {
      try {
        engine.add(i == 0 ? 3 : 1);
      } catch (const wsd::ProviderError& e) {
        CHECK_THAT(e.what(), Catch::Contains("cannot add 3"));
        ++failures;
      }
      CHECK(engine.add(5) == 10);
    });
    CHECK(failures >= 1);
  }
  SECTION("without a scheduler a call runs at once, alone") {
    Summer alone(nullptr);
    CHECK(alone.add(4) == 8);
    CHECK(alone.sizes == std::vector<std::size_t>{1});
  }
}
