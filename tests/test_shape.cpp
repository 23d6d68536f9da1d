// The library's shape as a user meets it: WeakToStrongDecoder<Weak, Strong, Switch> spelled out
// with the caller's providers and a compile-time rule; parts that own and report their
// parameters; rules whose own descriptions give the configuration's fields.
#include <catch2/catch.hpp>
#include <cmath>
#include <tuple>
#include <type_traits>
#include <wsd/wsd.hpp>

#include "toy_providers.hpp"

namespace {

const wsd::Conversation kTea{"tea", {{"user", "tea note?"}}};
constexpr wsd::Limits kLimits{.draft_max_tokens = 40, .max_tokens = 80, .chunk = 5};

toy::ToyProvider weak_model() { return toy::ToyProvider(toy::Vocabulary::characters(), {7, 4.0, 0.5, -3.0}); }
toy::ToyProvider strong_model() { return toy::ToyProvider(toy::Vocabulary::words(), {8, 4.0, 0.5, -3.0}); }

// A rule of each built-in kind with a parameter that makes it switch on these toy models.
template <class Rule>
Rule some_rule() {
  if constexpr (std::is_same_v<Rule, wsd::WindowMeanSwitch> || std::is_same_v<Rule, wsd::WindowMinSwitch>)
    return Rule(0.3, 2);
  else if constexpr (std::is_same_v<Rule, wsd::FixedLengthSwitch>)
    return Rule(3);
  else
    return Rule{};
}

// The configuration naming the same rule, for make_decoder.
wsd::Config config_for(std::string_view rule) {
  wsd::Config c;
  c.draft_max_tokens = kLimits.draft_max_tokens;
  c.max_tokens = kLimits.max_tokens;
  c.chunk = kLimits.chunk;
  c.switch_rule = rule;
  c.switch_args["threshold"] = 0.3;
  c.switch_args["window"] = 2;
  c.switch_args["fixed_length"] = 3;
  return c;
}

// Samples at a fixed temperature with no description of itself: the trace cannot name its parameters.
struct Undescribed {
  wsd::Sampler inner{wsd::SamplingParams{0.9, 1.0, 0, 5}};
  wsd::Token sample(const float* row, std::size_t vocab) { return inner.sample(row, vocab); }
  void reset() { inner.reset(); }
};

}  // namespace

TEMPLATE_LIST_TEST_CASE(
    "WeakToStrongDecoder is spelled with the caller's providers and each built-in rule as a static type", "[shape]",
    wsd::SwitchRules) {
  using Rule = TestType;
  auto weak = weak_model(), strong = strong_model();
  wsd::WeakToStrongDecoder decoder{wsd::WeakDrafter(weak), wsd::StrongModel(wsd::FullRowScorer(strong)),
                                   some_rule<Rule>(), kLimits};
  using Expected = wsd::WeakToStrongDecoder<
      wsd::WeakDrafter<toy::ToyProvider, wsd::ChatTemplate<toy::ToyProvider>, wsd::Sampler>,
      wsd::StrongModel<wsd::FullRowScorer<toy::ToyProvider, wsd::Sampler>, wsd::BaseModelTemplate>, Rule>;
  STATIC_REQUIRE(std::is_same_v<decltype(decoder), Expected>);
  const wsd::Result online = decoder.decode(kTea, wsd::Mode::online);
  const wsd::Result offline = decoder.decode(kTea, wsd::Mode::offline);
  CHECK(online.text == offline.text);
  CHECK(online.accept_index == offline.accept_index);
  const auto judged = static_cast<std::ptrdiff_t>(online.probs.size());  // the reference scores all of the draft
  REQUIRE(offline.probs.size() >= online.probs.size());
  CHECK(online.probs == std::vector<double>(offline.probs.begin(), offline.probs.begin() + judged));
  // The rule's statistic is indexed as the p_k are: window-min's too, 0 before its window of 2 is full.
  constexpr bool windowed = std::is_same_v<Rule, wsd::WindowMeanSwitch> || std::is_same_v<Rule, wsd::WindowMinSwitch>;
  for (const wsd::Result* r : {&online, &offline}) {
    CHECK(r->window_means.size() == (windowed ? r->probs.size() : 0));
    if (windowed && !r->window_means.empty()) CHECK(r->window_means[0] == 0.0);
  }

  // The run-time path over the same parts gives the same record.
  auto weak2 = weak_model(), strong2 = strong_model();
  const wsd::Result chosen = wsd::make_decoder(weak2, strong2, config_for(Rule::name)).decode(kTea, wsd::Mode::online);
  CHECK(chosen.text == online.text);
  CHECK(chosen.accept_index == online.accept_index);
  CHECK(wsd::to_json(chosen.config) == wsd::to_json(online.config));
}

TEST_CASE("parts built by hand record exactly the parameters they were built with", "[shape][trace]") {
  auto weak = weak_model(), strong = strong_model();
  wsd::WeakToStrongDecoder decoder(
      wsd::WeakDrafter(weak, wsd::ChatTemplate(weak), wsd::Sampler({0.5, 0.9, 7, 3}), {"you"}),
      wsd::StrongModel(wsd::FullRowScorer(strong, wsd::Sampler({0.7, 1.0, 0, 11})), wsd::BaseModelTemplate{}, {}),
      wsd::WindowMeanSwitch(0.3, 2), kLimits);
  const nlohmann::json c = wsd::to_json(decoder.decode(kTea, wsd::Mode::online).config);
  CHECK(c["weak_stop_strings"] == nlohmann::json{"you"});
  CHECK(c["strong_stop_strings"] == nlohmann::json::array());
  CHECK(c["draft"] == nlohmann::json{{"temperature", 0.5}, {"top_p", 0.9}, {"top_k", 7}, {"seed", 3}});
  CHECK(c["continuation"] == nlohmann::json{{"temperature", 0.7}, {"top_p", 1.0}, {"top_k", 0}, {"seed", 11}});
  CHECK(c["switch_rule"] == "window-mean");
  CHECK(c["threshold"] == 0.3);
  CHECK(c["window"] == 2);
  CHECK_FALSE(c.contains("fixed_length"));  // a parameter of another rule
  CHECK(c["draft_max_tokens"] == 40);
  CHECK(c["max_tokens"] == 80);
  CHECK(c["chunk"] == 5);
  CHECK(c["mode"] == "online");
  CHECK(c["shared_vocabulary"] == false);
  CHECK(wsd::to_json(decoder.decode(kTea, wsd::Mode::offline).config)["mode"] == "offline");
}

TEST_CASE("a part that does not describe itself leaves its parameters out of the trace", "[shape][trace]") {
  auto weak = weak_model(), strong = strong_model();
  wsd::WeakToStrongDecoder decoder{wsd::WeakDrafter(weak), wsd::StrongModel(wsd::FullRowScorer(strong, Undescribed{})),
                                   wsd::NeverSwitch{}, kLimits};
  const nlohmann::json c = wsd::to_json(decoder.decode(kTea, wsd::Mode::online).config);
  CHECK(c.contains("draft"));
  CHECK_FALSE(c.contains("continuation"));
  CHECK(c["switch_rule"] == "never");
  CHECK_FALSE(c.contains("threshold"));
}

TEST_CASE("the decoder counts and times its calls to each side itself", "[shape][trace]") {
  auto weak = weak_model(), strong = strong_model();
  wsd::WeakToStrongDecoder decoder{wsd::WeakDrafter(weak), wsd::StrongModel(wsd::FullRowScorer(strong)),
                                   wsd::WindowMeanSwitch(0.3, 2), kLimits};
  const wsd::Result online = decoder.decode(kTea, wsd::Mode::online), offline = decoder.decode(kTea, wsd::Mode::offline);
  for (const auto* r : {&online, &offline}) {
    CHECK(r->weak_tokens > 0);
    CHECK(r->timing.weak_s > 0.0);
    CHECK(r->timing.strong_s > 0.0);
    CHECK(r->timing.strong_write_s <= r->timing.strong_s);
    CHECK(r->timing.total_s >= r->timing.weak_s + r->timing.strong_s);
    CHECK(r->strong_generated == r->continuation_tokens.size());
  }
  // The reference reads prompt + draft, then prompt + kept draft again; online reads the prompt once
  // and each scored token at least once (a chunk scored past the switch, and tokens re-read when
  // re-tokenizing changed them, add to it).
  const std::size_t prompt = wsd::tokenize_with_bos(strong, wsd::BaseModelTemplate{}.render(kTea)).size();
  CHECK(online.strong_processed >= prompt + online.probs.size() + online.strong_generated);
  CHECK(online.strong_processed < offline.strong_processed);
  CHECK(offline.strong_processed == prompt + offline.probs.size() + prompt +
                                        static_cast<std::size_t>(offline.accept_index + 1) + offline.strong_generated);
  CHECK(online.weak_tokens <= offline.weak_tokens);
}

TEST_CASE("the window-minimum rule switches where every p of the last w reaches tau", "[shape][switch]") {
  const std::vector<double> p{0.95, 0.5, 0.9, 0.85, 0.99, 0.81, 0.2, 0.9};
  // windows of 3: k=4 {0.9, 0.85, 0.99} is the first with a minimum >= 0.8
  CHECK(wsd::accept_index(wsd::WindowMinSwitch(0.8, 3), p) == 4);
  CHECK(wsd::accept_index(wsd::WindowMinSwitch(0.96, 3), p) == 7);  // never: all of it is kept
  CHECK(wsd::accept_index(wsd::WindowMinSwitch(0.9, 1), p) == 0);
  wsd::WindowMinSwitch rule(0.8, 2);
  CHECK_FALSE(rule.observe(0.9).statistic);  // no minimum before a full window
  CHECK(*rule.observe(0.7).statistic == 0.7);
  CHECK_THROWS_WITH(wsd::WindowMinSwitch(0.8, 0), "window-min: window = 0 must be at least 1");
  CHECK_THROWS_WITH(wsd::WindowMinSwitch(1.5, 2), "window-min: threshold = 1.5 is not in (0, 1]");
}

TEST_CASE("a rule's own description of its parameters gives the configuration's fields", "[shape][config]") {
  std::vector<std::string> names;
  for (const auto& p : wsd::switch_rule_parameters()) names.emplace_back(p.name);
  CHECK(names == std::vector<std::string>{"threshold", "window", "fixed_length"});  // each once, shared ones shared

  const wsd::Config c =
      wsd::config_from_json({{"switch_rule", "window-min"}, {"threshold", 0.5}, {"window", 3}}, "cfg.json");
  auto weak = weak_model(), strong = strong_model();
  const nlohmann::json recorded = wsd::to_json(wsd::make_decoder(weak, strong, c).decode(kTea, wsd::Mode::online).config);
  CHECK(recorded["switch_rule"] == "window-min");
  CHECK(recorded["threshold"] == 0.5);
  CHECK(recorded["window"] == 3);
  CHECK_THROWS_WITH(wsd::config_from_json({{"switch_rule", "window-min"}, {"window", 0}}, "cfg.json"),
                    "cfg.json: window = 0 must be at least 1");
  CHECK_THROWS_WITH(wsd::config_from_json({{"fixed_length", 2.5}}, "cfg.json"),
                    "cfg.json: fixed_length = 2.5 is not a non-negative integer");
}
