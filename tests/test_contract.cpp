// The library's contract for users' own policies: samplers, cancelling, streaming, the rule a
// configuration names, and concepts that match their use.
#include <catch2/catch.hpp>
#include <wsd/wsd.hpp>

#include <stop_token>
#include <type_traits>

#include "toy_providers.hpp"

namespace {

// A user's sampler: always the second most likely token (ties to the lower id). Counts its calls.
struct SecondBest {
  int* calls;
  wsd::Token sample(const float* row, std::size_t vocab) {
    ++*calls;
    wsd::Token best = 0, second = 1;
    if (row[1] > row[0]) std::swap(best, second);
    for (std::size_t v = 2; v < vocab; ++v) {
      const auto t = static_cast<wsd::Token>(v);
      if (row[v] > row[best]) second = best, best = t;
      else if (row[v] > row[second]) second = t;
    }
    return second;
  }
  void reset() {}
};
static_assert(wsd::TokenSampler<SecondBest>);

const wsd::Conversation kTea{"tea", {{"user", "tea note?"}}};

wsd::Config long_answer() {
  wsd::Config cfg;
  cfg.draft_max_tokens = 40;
  cfg.max_tokens = 80;
  cfg.switch_args["threshold"] = 0.3;
  cfg.switch_args["window"] = 2;
  return cfg;
}

toy::ToyProvider weak_model() { return toy::ToyProvider(toy::Vocabulary::characters(), {7, 4.0, 0.5, -3.0}); }
toy::ToyProvider strong_model() { return toy::ToyProvider(toy::Vocabulary::words(), {8, 4.0, 0.5, -3.0}); }

}  // namespace

TEST_CASE("a user's sampler picks the strong model's tokens, while the rule sees the model's own probabilities",
          "[contract][sampler]") {
  const wsd::Config cfg = long_answer();
  auto weak_a = weak_model(), strong_a = strong_model();
  auto greedy = wsd::make_decoder(weak_a, strong_a, cfg).decode(kTea, wsd::Mode::online);
  auto weak_b = weak_model(), strong_b = strong_model();
  int calls = 0;
  auto custom = wsd::make_decoder(weak_b, strong_b, cfg, wsd::Samplers{wsd::Sampler(cfg.draft), SecondBest{&calls}})
                    .decode(kTea, wsd::Mode::online);
  REQUIRE(greedy.accept_index == custom.accept_index);
  CHECK(greedy.probs == custom.probs);  // the sampler never changes what the rule judges
  CHECK(greedy.draft_tokens == custom.draft_tokens);
  REQUIRE_FALSE(custom.continuation_tokens.empty());
  CHECK(calls >= static_cast<int>(custom.continuation_tokens.size()));
  CHECK(custom.continuation_tokens != greedy.continuation_tokens);
  // Each written token is the second best of the model's row at its position.
  auto check = strong_model();
  auto context = wsd::tokenize_with_bos(check, wsd::BaseModelTemplate{}.render(kTea));
  context.insert(context.end(), custom.draft_tokens.begin(), custom.draft_tokens.end());
  int unused = 0;
  SecondBest reference{&unused};
  for (wsd::Token t : custom.continuation_tokens) {
    check.rollback(0);
    const std::size_t last = context.size() - 1;
    const auto block = check.append(context, std::span<const std::size_t>(&last, 1));
    CHECK(t == reference.sample(block.row(0), block.vocab));
    context.push_back(t);
  }
}

TEST_CASE("a user's sampler on the weak side changes the draft, and the rule still sees the strong model's probabilities",
          "[contract][sampler]") {
  const wsd::Config cfg = long_answer();
  auto weak = weak_model(), strong = strong_model();
  int calls = 0;
  const auto r = wsd::make_decoder(weak, strong, cfg, wsd::Samplers{SecondBest{&calls}, wsd::Sampler(cfg.continuation)})
                     .decode(kTea, wsd::Mode::offline);
  CHECK(calls == static_cast<int>(r.weak_tokens));
  auto check = strong_model();
  auto context = wsd::tokenize_with_bos(check, wsd::BaseModelTemplate{}.render(kTea));
  for (std::size_t k = 0; k < r.draft_tokens.size(); ++k) {
    check.rollback(0);
    const std::size_t last = context.size() - 1;
    const auto block = check.append(context, std::span<const std::size_t>(&last, 1));
    CHECK(r.probs[k] == wsd::token_probability(block.row(0), block.vocab, r.draft_tokens[k]));
    context.push_back(r.draft_tokens[k]);
  }
}

TEST_CASE("a draft sink that returns false cancels the decode: the result says so and nothing more is written",
          "[contract][cancel]") {
  wsd::Config cfg = long_answer();
  cfg.switch_args["threshold"] = 1.0;  // never switches: the whole draft is judged chunk by chunk
  cfg.chunk = 2;
  for (bool use_flow : {false, true}) {
    auto weak = weak_model(), strong = strong_model();
    auto d = wsd::make_decoder(weak, strong, cfg);
    std::string streamed;
    wsd::Stream s;
    if (use_flow)
      s.draft = [&](std::string_view t) { streamed += t; return wsd::Flow::stop; };
    else
      s.draft = [&](std::string_view t) { streamed += t; return false; };
    const auto r = d.decode(kTea, wsd::Mode::online, s);
    CHECK(r.cancelled());
    CHECK(r.reason == wsd::DraftEnd::cancelled);
    CHECK(r.continuation_reason == wsd::ContinuationEnd::cancelled);
    CHECK(r.continuation_tokens.empty());
    CHECK(r.weak_tokens < cfg.draft_max_tokens);
    CHECK_FALSE(streamed.empty());
    CHECK(r.text.starts_with(streamed));
    CHECK(wsd::to_json(r)["continuation"]["reason"] == "cancelled");
    CHECK(wsd::to_json(r)["switch"]["reason"] == "cancelled");
  }
}

TEST_CASE("a stop_token cancels the continuation from outside the callbacks", "[contract][cancel]") {
  wsd::Config cfg = long_answer();
  cfg.switch_rule = "immediate";  // the strong model writes everything
  cfg.strong_stop_strings.clear();
  auto weak = weak_model();
  auto strong = toy::ToyProvider(toy::Vocabulary::words(), {8, 4.0, 0.5, -12.0});  // rarely ends by itself
  auto d = wsd::make_decoder(weak, strong, cfg);
  const auto full = d.decode(kTea, wsd::Mode::online);
  REQUIRE(full.continuation_tokens.size() > 6);
  std::stop_source stop;
  std::size_t pieces = 0;
  wsd::Stream s{{}, [&](std::string_view) {
                  if (++pieces == 3) stop.request_stop();
                },
                stop.get_token()};
  const auto r = d.decode(kTea, wsd::Mode::online, s);
  CHECK(r.continuation_reason == wsd::ContinuationEnd::cancelled);
  CHECK(r.continuation_tokens.size() < full.continuation_tokens.size());
  CHECK(full.text.starts_with(r.text));
  // A decode asked to stop before it starts writes nothing.
  const auto none = d.decode(kTea, wsd::Mode::offline, {{}, {}, stop.get_token()});
  CHECK(none.cancelled());
  CHECK(none.continuation_tokens.empty());
}

TEST_CASE("streaming sends kept draft tokens as they are judged, and draft + continuation is the answer",
          "[contract][stream]") {
  int multi_piece_drafts = 0;
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    wsd::Config cfg = long_answer();
    cfg.chunk = 1 + seed % 4;
    cfg.switch_args["threshold"] = 0.2 + 0.01 * static_cast<double>(seed);
    cfg.strong_stop_strings.push_back("e t");  // a stop string with a space, that can straddle the switch
    auto weak = toy::ToyProvider(toy::Vocabulary::characters(), {seed, 4.0, 0.5, -3.0});
    auto strong = toy::ToyProvider(seed % 2 ? toy::Vocabulary::words() : toy::Vocabulary::characters(), {seed + 99, 4.0, 0.5, -3.0});
    cfg.shared_vocabulary = seed % 2 == 0;
    auto d = wsd::make_decoder(weak, strong, cfg);
    for (auto mode : {wsd::Mode::online, wsd::Mode::offline}) {
      std::string draft, cont;
      int draft_pieces = 0;
      wsd::Stream s{[&](std::string_view t) { draft += t, ++draft_pieces; }, [&](std::string_view t) { cont += t; }};
      const auto r = mode == wsd::Mode::online ? d.decode(kTea, wsd::Mode::online, s) : d.decode(kTea, wsd::Mode::offline, s);
      INFO("seed " << seed << " mode " << wsd::to_string(mode));
      CHECK(draft + cont == r.text);
      CHECK(r.accepted_text.starts_with(draft));
      if (mode == wsd::Mode::online && draft_pieces > 1) ++multi_piece_drafts;
    }
  }
  CHECK(multi_piece_drafts >= 10);  // the draft arrives token by token, not at the switch
}

TEST_CASE("make_decoder builds the rule the configuration names, with its parameters", "[contract][config]") {
  wsd::Config cfg = long_answer();
  cfg.switch_rule = "fixed";
  cfg.switch_args["fixed_length"] = 3;
  auto weak = weak_model(), strong = strong_model();
  const auto r = wsd::make_decoder(weak, strong, cfg).decode(kTea, wsd::Mode::online);
  CHECK(r.accept_index == 2);
  CHECK(wsd::to_json(r.config)["switch_rule"] == "fixed");
  cfg.switch_rule = "immediate";
  CHECK(wsd::make_decoder(weak, strong, cfg).decode(kTea, wsd::Mode::offline).weak_tokens == 0);
  cfg.switch_rule = "no-such-rule";
  CHECK_THROWS_WITH(wsd::make_decoder(weak, strong, cfg),
                    Catch::Contains("no-such-rule") && Catch::Contains("window-mean, fixed, never, immediate"));
}

TEST_CASE("a rule object's own parameters reach the trace, not the configuration's", "[contract][config]") {
  auto weak = weak_model(), strong = strong_model();
  const auto r = wsd::make_decoder(weak, strong, wsd::WindowMeanSwitch(0.1, 2), wsd::Config{}).decode(kTea, wsd::Mode::online);
  CHECK(wsd::to_json(r.config)["threshold"] == 0.1);
  CHECK(wsd::to_json(r.config)["window"] == 2);
  CHECK(wsd::to_json(r.config)["switch_rule"] == "window-mean");
  CHECK(wsd::accept_index(wsd::WindowMeanSwitch(0.1, 2), r.probs) == r.accept_index);
}

TEST_CASE("the registry knows each rule by its name", "[contract][config]") {
  const auto names = wsd::switch_rule_names();
  CHECK(names.size() == std::tuple_size_v<wsd::SwitchRules>);
  for (auto n : {"window-mean", "fixed", "never", "immediate", "window-min"}) CHECK(wsd::is_switch_rule(n));
  CHECK_FALSE(wsd::is_switch_rule("window_mean"));
  wsd::Config cfg;
  cfg.switch_rule = "never";
  CHECK(wsd::AnySwitch(cfg.switch_rule, cfg.switch_args).name() == "never");
  STATIC_REQUIRE(wsd::SwitchPolicy<wsd::AnySwitch>);
}

namespace {
struct VoidDrafter {  // draft() returns void: not a drafter the decoder can drive
  void start(const wsd::Conversation&, std::size_t) {}
  void draft(std::size_t) {}
  wsd::DraftView view() const { return {}; }
  wsd::DraftEnd end_reason() const { return wsd::DraftEnd::eos; }
};
}  // namespace

TEST_CASE("the concepts match their use, and decoders are not copied by accident", "[contract]") {
  STATIC_REQUIRE_FALSE(wsd::WeakDrafterPolicy<VoidDrafter>);
  STATIC_REQUIRE(wsd::ScoringSequence<wsd::FullRowScorer<toy::ToyProvider>>);
  STATIC_REQUIRE(wsd::ScoringSequence<toy::ToyScorer>);
  STATIC_REQUIRE_FALSE(wsd::ScoringSequence<toy::ToyProvider>);
  STATIC_REQUIRE(wsd::TokenSampler<wsd::Sampler>);
  using Decoder = decltype(wsd::make_decoder(std::declval<toy::ToyProvider&>(), std::declval<toy::ToyProvider&>()));
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<Decoder>);
  STATIC_REQUIRE(std::is_move_constructible_v<Decoder>);
  using Strong = wsd::StrongModel<wsd::FullRowScorer<toy::ToyProvider>, wsd::BaseModelTemplate>;
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<Strong>);
}

TEST_CASE("an error in a conversation names it once", "[contract][errors]") {
  auto weak = weak_model(), strong = strong_model();
  auto d = wsd::make_decoder(weak, strong);
  try {
    d.decode({"empty", {}}, wsd::Mode::online);
    FAIL("no error");
  } catch (const wsd::InputError& e) {
    const std::string what = e.what();
    CHECK(what.find("conversation 'empty'") == 0);
    CHECK(what.find("conversation 'empty'", 1) == std::string::npos);
  }
}

TEST_CASE("the weak model alone writes the whole answer, streamed as it is written", "[contract][stream]") {
  wsd::Config cfg = long_answer();
  auto weak = weak_model(), strong = strong_model();
  auto d = wsd::make_decoder(weak, strong, cfg);
  std::string streamed;
  const auto r = d.decode(kTea, wsd::Mode::weak_only, {[&](std::string_view t) { streamed += t; }, {}});
  CHECK_FALSE(r.text.empty());
  CHECK(streamed == r.text);
  CHECK(r.weak_tokens <= cfg.max_tokens);
  CHECK(r.strong_processed == 0);
  CHECK(r.accept_index == -1);
}

TEST_CASE("a scoring sequence samples as the configuration says: make_decoder tells it (set_sampling)", "[contract][sampling]") {
  int differs_from_greedy = 0;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    wsd::Config cfg = long_answer();
    cfg.switch_args["threshold"] = 0.9;  // an early switch: the continuation is most of the answer
    cfg.continuation = {.temperature = 1.2, .seed = seed};
    auto weak = weak_model(), full_row = strong_model();
    const wsd::Result expected = wsd::make_decoder(weak, full_row, cfg).decode(kTea, wsd::Mode::online);  // FullRowScorer + Sampler
    auto weak2 = weak_model();
    toy::ToyScorer scorer(toy::Vocabulary::words(), {8, 4.0, 0.5, -3.0});  // built greedy
    const wsd::Result got = wsd::make_decoder(weak2, scorer, cfg).decode(kTea, wsd::Mode::online);
    INFO("seed " << seed);
    CHECK(got.text == expected.text);
    CHECK(got.continuation_tokens == expected.continuation_tokens);
    auto weak3 = weak_model();
    toy::ToyScorer greedy(toy::Vocabulary::words(), {8, 4.0, 0.5, -3.0});
    wsd::Config greedy_cfg = cfg;
    greedy_cfg.continuation = {};
    differs_from_greedy += wsd::make_decoder(weak3, greedy, greedy_cfg).decode(kTea, wsd::Mode::online).text != got.text;
  }
  CHECK(differs_from_greedy >= 4);  // the sampling was used, not the scorer's own greedy one
}
