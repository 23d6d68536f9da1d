#include <catch2/catch.hpp>
#include <wsd/wsd.hpp>

#include <random>

#include "same_response.hpp"
#include "toy_providers.hpp"

namespace {

struct Case {
  wsd::Config config;
  toy::ModelShape weak, strong;
  bool different_vocabularies = true;
  wsd::Conversation conversation;
};

Case random_case(std::uint64_t seed, bool sampling) {
  std::mt19937_64 rng(seed);
  auto pick = [&](std::size_t lo, std::size_t hi) { return lo + rng() % (hi - lo + 1); };
  auto real = [&](double lo, double hi) { return lo + (hi - lo) * toy::unit(rng()); };
  Case c;
  c.config.switch_args["threshold"] = real(0.05, 0.95);
  c.config.switch_args["window"] = pick(1, 8);
  c.config.chunk = pick(1, 12);
  c.config.draft_max_tokens = pick(0, 60);
  c.config.max_tokens = pick(1, 90);
  c.different_vocabularies = rng() % 3 != 0;
  c.config.shared_vocabulary = !c.different_vocabularies;
  if (sampling) {
    c.config.draft = {real(0.3, 1.5), real(0.5, 1.0), static_cast<int>(pick(0, 20)), rng()};
    c.config.continuation = {real(0.3, 1.5), real(0.5, 1.0), static_cast<int>(pick(0, 20)), rng()};
  }
  c.weak = {rng(), real(2.0, 6.0), real(0.2, 1.5), real(-4.0, 0.0)};
  c.strong = {rng(), real(2.0, 6.0), real(0.2, 1.5), real(-4.0, 0.0)};
  const char* words[] = {"tea", "note", "east", "his", "oat", "a", "Hi there", "in"};
  c.conversation.id = "case-" + std::to_string(seed);
  if (rng() % 4 == 0) c.conversation.messages.push_back({"system", "be nice"});
  for (std::size_t turn = 0, n = pick(1, 2); turn < n; ++turn) {
    if (turn > 0) c.conversation.messages.push_back({"assistant", words[pick(0, 7)]});
    c.conversation.messages.push_back({"user", std::string(words[pick(0, 7)]) + " " + words[pick(0, 7)] + "?"});
  }
  if (rng() % 4 == 0) c.conversation.messages.push_back({"assistant", words[pick(0, 7)]});  // an answer prefix
  return c;
}

struct Pair {
  toy::ToyProvider weak, strong;
};

Pair providers(const Case& c) {
  auto strong_vocab = c.different_vocabularies ? toy::Vocabulary::words() : toy::Vocabulary::characters();
  return {toy::ToyProvider(toy::Vocabulary::characters(), c.weak), toy::ToyProvider(strong_vocab, c.strong)};
}

wsd::Result run(const Case& c, wsd::Mode mode) {
  Pair p = providers(c);
  const wsd::Config& cfg = c.config;
  auto decoder = wsd::make_decoder(p.weak, p.strong, wsd::WindowMeanSwitch(cfg.switch_args["threshold"], static_cast<std::size_t>(cfg.switch_args["window"])), cfg);
  auto r = mode == wsd::Mode::online ? decoder.decode(c.conversation, wsd::Mode::online) : decoder.decode(c.conversation, wsd::Mode::offline);
  if (mode == wsd::Mode::online) {
    // The strong model's cache holds prompt + accepted draft + continuation (bar the last token).
    auto expected = wsd::run_now(decoder.strong().prompt(c.conversation)).tokens;
    const auto& accepted = r.draft_tokens;
    expected.insert(expected.end(), accepted.begin(), accepted.end());
    expected.insert(expected.end(), r.continuation_tokens.begin(), r.continuation_tokens.end());
    const auto state = p.strong.state();
    REQUIRE(state.size() + 1 >= expected.size());
    REQUIRE(state.size() <= expected.size());
    CHECK(std::equal(state.begin(), state.end(), expected.begin()));
  }
  return r;
}

// The same case with a strong side that only scores (log p of targets, its own sampler, no rows).
wsd::Result run_scoring_only(const Case& c, wsd::Mode mode, std::size_t* score_calls = nullptr) {
  Pair p = providers(c);
  auto strong_vocab = c.different_vocabularies ? toy::Vocabulary::words() : toy::Vocabulary::characters();
  toy::ToyScorer strong(strong_vocab, c.strong, c.config.continuation);
  auto decoder = wsd::make_decoder(p.weak, strong, c.config);
  auto r = mode == wsd::Mode::online ? decoder.decode(c.conversation, wsd::Mode::online) : decoder.decode(c.conversation, wsd::Mode::offline);
  if (score_calls) *score_calls = strong.score_calls;
  return r;
}

using wsd::test::require_same_response;

}  // namespace

TEST_CASE("online equals offline token for token under greedy decoding (240 random cases)", "[online][offline]") {
  int switched = 0, kept_all = 0, differing = 0;
  for (std::uint64_t seed = 1; seed <= 240; ++seed) {
    const Case c = random_case(seed, false);
    INFO("seed " << seed << " tau=" << c.config.switch_args["threshold"] << " w=" << c.config.switch_args["window"] << " chunk=" << c.config.chunk
                 << " draft_max=" << c.config.draft_max_tokens << " max=" << c.config.max_tokens
                 << " different vocabularies=" << c.different_vocabularies);
    const auto offline = run(c, wsd::Mode::offline);
    const auto online = run(c, wsd::Mode::online);
    require_same_response(online, offline);
    switched += offline.reason == wsd::DraftEnd::switched;
    kept_all += offline.reason != wsd::DraftEnd::switched;
    differing += c.different_vocabularies;
  }
  // The generated cases must exercise both outcomes and both bridges, or the test proves little.
  CHECK(switched >= 40);
  CHECK(kept_all >= 40);
  CHECK(differing >= 100);
}

TEST_CASE("online equals offline with seeded sampling in both phases (240 random cases)", "[online][offline]") {
  int switched = 0;
  for (std::uint64_t seed = 1001; seed <= 1240; ++seed) {
    const Case c = random_case(seed, true);
    INFO("seed " << seed << " chunk=" << c.config.chunk);
    const auto offline = run(c, wsd::Mode::offline);
    const auto online = run(c, wsd::Mode::online);
    require_same_response(online, offline);
    switched += offline.reason == wsd::DraftEnd::switched;
  }
  CHECK(switched >= 40);
}

TEST_CASE("a strong model that only scores targets drives the same suite: online equals offline, and both "
          "equal the full-row path (480 random cases, greedy and sampled)", "[online][offline][scoring]") {
  int switched = 0;
  for (std::uint64_t seed : {std::uint64_t{1}, std::uint64_t{1001}}) {
    for (std::uint64_t s = seed; s < seed + 240; ++s) {
      const Case c = random_case(s, seed == 1001);
      INFO("seed " << s << " chunk=" << c.config.chunk << " different vocabularies=" << c.different_vocabularies);
      std::size_t online_calls = 0, offline_calls = 0;
      const auto offline = run_scoring_only(c, wsd::Mode::offline, &offline_calls);
      const auto online = run_scoring_only(c, wsd::Mode::online, &online_calls);
      require_same_response(online, offline);
      require_same_response(online, run(c, wsd::Mode::online));
      CHECK(offline_calls <= 1);  // the reference scores its whole draft in one request
      switched += offline.reason == wsd::DraftEnd::switched;
    }
  }
  CHECK(switched >= 80);
}

TEST_CASE("the answer never exceeds max_tokens strong tokens: max_tokens below, at and above the draft limit, "
          "online equals offline (360 random cases, greedy and sampled)", "[online][offline][max_tokens]") {
  int cut = 0, switched_within = 0, ended_within = 0, below = 0, at = 0, above = 0;
  for (std::uint64_t seed = 5001; seed <= 5360; ++seed) {
    Case c = random_case(seed, seed % 2 == 0);
    std::mt19937_64 rng(seed * 7);
    c.config.draft_max_tokens = 1 + rng() % 40;
    const std::size_t where = rng() % 3;  // below, at or above the draft limit
    c.config.max_tokens = where == 0 ? rng() % c.config.draft_max_tokens
                          : where == 1 ? c.config.draft_max_tokens
                                       : c.config.draft_max_tokens + 1 + rng() % 20;
    below += where == 0, at += where == 1, above += where == 2;
    if (rng() % 3 == 0) c.config.switch_rule = "never";  // keeps every drafted token it can
    INFO("seed " << seed << " rule=" << c.config.switch_rule << " chunk=" << c.config.chunk << " draft_max="
                 << c.config.draft_max_tokens << " max=" << c.config.max_tokens);
    const auto offline = run_scoring_only(c, wsd::Mode::offline);
    const auto online = run_scoring_only(c, wsd::Mode::online);
    require_same_response(online, offline);
    for (const auto* r : {&online, &offline}) {
      CHECK(wsd::answer_tokens(*r) <= c.config.max_tokens);
      if (wsd::ended_by_max_tokens(*r)) CHECK(wsd::answer_tokens(*r) == c.config.max_tokens);
    }
    const std::size_t drafted = offline.draft_tokens.size();  // the reference scores its whole draft
    if (drafted > c.config.max_tokens) {  // the budget or an earlier switch ends the draft
      CHECK((offline.reason == wsd::DraftEnd::max_tokens || offline.reason == wsd::DraftEnd::switched));
      cut += offline.reason == wsd::DraftEnd::max_tokens;
      switched_within += offline.reason == wsd::DraftEnd::switched;
    } else {
      CHECK((offline.reason != wsd::DraftEnd::max_tokens || drafted == c.config.max_tokens));
      ended_within += 1;
    }
    if (offline.reason == wsd::DraftEnd::max_tokens) {
      CHECK(static_cast<std::size_t>(offline.accept_index + 1) == c.config.max_tokens);
      CHECK(offline.strong_generated == 0);
    }
  }
  CHECK(cut >= 60);  // the cases exercise every branch, or the test proves little
  CHECK(switched_within >= 20);
  CHECK(ended_within >= 60);
  CHECK(std::min({below, at, above}) >= 80);
}

TEST_CASE("the chunk size does not change the response", "[online]") {
  for (std::uint64_t seed = 2001; seed <= 2040; ++seed) {
    Case c = random_case(seed, false);
    c.config.chunk = 1;
    const auto one = run(c, wsd::Mode::online);
    c.config.chunk = 64;
    const auto many = run(c, wsd::Mode::online);
    CHECK(one.text == many.text);
    CHECK(one.accept_index == many.accept_index);
  }
}

TEST_CASE("online drafting stops at the switch: the weak model writes no more than a chunk past it", "[online]") {
  int checked = 0;
  for (std::uint64_t seed = 3001; seed <= 3100; ++seed) {
    Case c = random_case(seed, false);
    c.config.draft_max_tokens = 200;
    c.config.shared_vocabulary = true;
    c.different_vocabularies = false;
    const auto offline = run(c, wsd::Mode::offline);
    const auto online = run(c, wsd::Mode::online);
    if (offline.reason != wsd::DraftEnd::switched) continue;
    ++checked;
    CHECK(online.weak_tokens <= static_cast<std::size_t>(offline.accept_index + 1) + c.config.chunk);
    CHECK(online.weak_tokens <= offline.weak_tokens);
  }
  CHECK(checked >= 10);
}

TEST_CASE("switch-immediately is the strong model alone, from its own template", "[online][offline]") {
  Case c = random_case(4001, false);
  c.config.switch_rule = "immediate";
  for (auto mode : {wsd::Mode::online, wsd::Mode::offline}) {
    Pair p = providers(c);
    auto decoder = wsd::make_decoder(p.weak, p.strong, wsd::ImmediateSwitch{}, c.config);
    const auto r = decoder.decode(c.conversation);
    (void)mode;
    CHECK(r.accept_index == -1);
    CHECK(r.weak_tokens == 0);
    CHECK(p.weak.tokens_appended == 0);
    CHECK(r.text == r.continuation_text.substr(0, r.text.size()));
  }
}

TEST_CASE("an answer prefix is part of the answer and not drafted: online equals offline, the rule judges only drafted tokens",
          "[online][offline][prefix]") {
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    Case c = random_case(seed, seed % 2 == 1);
    c.conversation.messages.resize(c.conversation.messages.back().role == "assistant" ? c.conversation.messages.size() - 1
                                                                                       : c.conversation.messages.size());
    const std::string prefix = seed % 3 == 0 ? "tea note east his oat tea note" : "Hi there";
    c.conversation.messages.push_back({"assistant", "  " + prefix});
    c.config.draft_max_tokens = 1 + seed % 6;  // shorter than the prefix: it does not count against the limit
    INFO("seed " << seed);
    const auto offline = run(c, wsd::Mode::offline);
    const auto online = run(c, wsd::Mode::online);
    require_same_response(online, offline);
    CHECK(offline.answer_prefix == prefix);  // stripped, as the reference strips it
    CHECK(offline.text.starts_with(prefix));
    CHECK(offline.weak_tokens <= c.config.draft_max_tokens + 1);  // drafted tokens only (and an end token)
    // The judged tokens are the draft's, after the prompt that ends with the prefix.
    Pair p = providers(c);
    auto decoder = wsd::make_decoder(p.weak, p.strong, c.config);
    const auto prompt = wsd::run_now(decoder.strong().prompt(c.conversation));
    CHECK(prompt.text.ends_with("\n\n[Assistant]\n" + prefix));
    CHECK(offline.probs.size() == offline.draft_tokens.size());
    if (!c.different_vocabularies) continue;  // ids passed through: the drafted tokens are the weak ones
    const auto bridged =
        wsd::run_now(decoder.strong().bridge(prompt, wsd::DraftView{offline.draft_text, {}, offline.draft_text.size(), 0, true}));
    CHECK(bridged.prompt_tokens == prompt.tokens.size());
    CHECK(std::equal(offline.draft_tokens.begin(), offline.draft_tokens.end(), bridged.tokens.begin() + bridged.prompt_tokens,
                     bridged.tokens.end()));
    CHECK(offline.probs.size() == bridged.drafted());
  }
}

TEST_CASE("samples: seeds + i give reproducible, different answers when sampling, the same when greedy", "[samples]") {
  int differing = 0;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    Case sampled = random_case(seed, true);
    sampled.config.draft_max_tokens = 30;
    sampled.config.max_tokens = 60;
    std::vector<std::string> texts, again;
    for (std::size_t i = 0; i < 3; ++i) {
      Case s = sampled;
      s.config = wsd::sample_config(sampled.config, i);
      texts.push_back(run(s, wsd::Mode::online).text);
      again.push_back(run(s, wsd::Mode::online).text);
    }
    CHECK(texts == again);  // reproducible from the seed
    differing += texts[0] != texts[1] || texts[1] != texts[2];
    Case greedy = random_case(seed, false);
    std::vector<std::string> greedy_texts;
    for (std::size_t i = 0; i < 3; ++i) {
      Case g = greedy;
      g.config = wsd::sample_config(greedy.config, i);
      greedy_texts.push_back(run(g, wsd::Mode::online).text);
    }
    CHECK(greedy_texts[0] == greedy_texts[1]);
    CHECK(greedy_texts[1] == greedy_texts[2]);
  }
  CHECK(differing >= 15);  // the samples differ (a short answer may agree by chance)
}
