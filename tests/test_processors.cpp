// Logits processors over xtensor views, and ProcessedSampler: what each step does to a block of
// logits, and that the switch rule still judges the strong model's own probabilities.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <set>
#include <vector>
#include <wsd/wsd.hpp>

#include "toy_providers.hpp"

namespace {
constexpr float kMasked = -std::numeric_limits<float>::infinity();

std::vector<float> processed(const wsd::LogitsProcessor& step, std::vector<float> logits, std::size_t rows = 1,
                             std::vector<wsd::Token> written = {}) {
  auto view = wsd::view(logits.data(), rows, logits.size() / rows);
  wsd::apply_processors(std::span(&step, 1), view, written);
  return logits;
}
}  // namespace

TEST_CASE("temperature divides every logit by t", "[processors]") {
  CHECK(processed(wsd::Temperature{2.0}, {2, -4, 1}) == std::vector<float>{1, -2, 0.5});
}

TEST_CASE("top-k keeps each row's k highest logits, ties included, and masks the rest", "[processors]") {
  CHECK(processed(wsd::TopK{2}, {1, 5, 3, 5, 0, 9, 8, 7}, 2) ==
        std::vector<float>{kMasked, 5, kMasked, 5, kMasked, 9, 8, kMasked});
  CHECK(processed(wsd::TopK{0}, {1, 2, 3}) == std::vector<float>{1, 2, 3});  // 0: off
}

TEST_CASE("top-p keeps the most likely tokens until their mass reaches p", "[processors]") {
  const float l2 = std::log(2.0f), l1 = 0.0f;  // probabilities 2/4, 1/4, 1/4
  CHECK(processed(wsd::TopP{0.45}, {l1, l2, l1}) == std::vector<float>{kMasked, l2, kMasked});
  CHECK(processed(wsd::TopP{0.6}, {l1, l2, l1}) ==
        std::vector<float>{l1, l2, kMasked});  // the tie goes to the lower id
  CHECK(processed(wsd::TopP{1.0}, {l1, l2, l1}) == std::vector<float>{l1, l2, l1});
}

TEST_CASE("min-p keeps the tokens at least p times as likely as the top one", "[processors]") {
  const float top = 0.0f, half = std::log(0.5f), tenth = std::log(0.1f);
  CHECK(processed(wsd::MinP{0.4}, {half, top, tenth}) == std::vector<float>{half, top, kMasked});
}

TEST_CASE("the repetition penalty divides positive and multiplies negative logits of written tokens, once each",
          "[processors]") {
  CHECK(processed(wsd::RepetitionPenalty{2.0}, {4, -1, 3}, 1, {0, 1, 0}) == std::vector<float>{2, -2, 3});
  CHECK(processed(wsd::RepetitionPenalty{2.0}, {4, -1, 3}, 1, {}) == std::vector<float>{4, -1, 3});
}

TEST_CASE("a logit bias adds to the given tokens", "[processors]") {
  CHECK(processed(wsd::LogitBias{{{2, 1.5f}, {0, kMasked}}}, {1, 1, 1}) == std::vector<float>{kMasked, 1, 2.5});
}

TEST_CASE("a processed sampler without processors picks what its inner sampler picks", "[processors][sampler]") {
  std::vector<float> row(300);
  for (std::size_t i = 0; i < row.size(); ++i) row[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i)) * 3);
  for (const wsd::SamplingParams p : {wsd::SamplingParams{}, wsd::SamplingParams{0.8, 0.9, 40, 7}}) {
    wsd::Sampler plain(p);
    auto processed_sampler = wsd::ProcessedSampler<>::from(p);
    for (int i = 0; i < 50; ++i)
      CHECK(processed_sampler.sample(row.data(), row.size()) == plain.sample(row.data(), row.size()));
  }
}

TEST_CASE("a repeated greedy token is penalised after it was written, until reset", "[processors][sampler]") {
  const std::vector<float> row{1.0f, 0.9f, 0.0f};
  auto s = wsd::ProcessedSampler<>::from({.repetition_penalty = 1.5});
  CHECK(s.sample(row.data(), row.size()) == 0);
  CHECK(s.sample(row.data(), row.size()) == 1);  // 1.0 / 1.5 < 0.9
  s.reset();
  CHECK(s.sample(row.data(), row.size()) == 0);
}

TEST_CASE("the plain sampler honours a repetition penalty as the processed sampler does", "[processors][sampler]") {
  std::vector<float> row(300);
  for (std::size_t i = 0; i < row.size(); ++i) row[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i)) * 3);
  for (const wsd::SamplingParams p : {wsd::SamplingParams{.repetition_penalty = 1.5},
                                      wsd::SamplingParams{0.8, 0.9, 40, 7, 2.0}}) {
    wsd::Sampler plain(p);
    auto processed_sampler = wsd::ProcessedSampler<>::from(p);
    std::set<wsd::Token> picked;
    for (int i = 0; i < 50; ++i) {
      const wsd::Token t = plain.sample(row.data(), row.size());
      CHECK(processed_sampler.sample(row.data(), row.size()) == t);
      picked.insert(t);
    }
    CHECK(picked.size() > 5);  // the penalty moved the picks (greedy alone would repeat one token)
  }
}

TEST_CASE("sampling parameters describe themselves, a repetition penalty only when one is set", "[processors][trace]") {
  wsd::Settings plain, penalised;
  wsd::describe_part(wsd::SamplingParams{}, plain);
  wsd::describe_part(wsd::SamplingParams{.repetition_penalty = 1.3}, penalised);
  CHECK(plain.size() == 4);
  CHECK_FALSE(wsd::find_setting(plain, "repetition_penalty"));
  REQUIRE(wsd::find_setting(penalised, "repetition_penalty"));
  CHECK(std::get<double>(*wsd::find_setting(penalised, "repetition_penalty")) == 1.3);
}

TEST_CASE("a continuation penalty is recorded in the trace and never touches the probabilities the rule judges",
          "[processors][contract]") {
  const wsd::Conversation c{"tea", {{"user", "tea note?"}}};
  wsd::Config cfg;
  cfg.draft_max_tokens = 30;
  cfg.max_tokens = 90;
  cfg.switch_args["threshold"] = 0.3;
  cfg.switch_args["window"] = 2;
  auto decode = [&](double penalty) {
    toy::ToyProvider weak(toy::Vocabulary::characters(), {7, 4.0, 0.5, -3.0}),
        strong(toy::Vocabulary::words(), {8, 4.0, 0.5, -3.0});
    wsd::SamplingParams continuation{.repetition_penalty = penalty};
    return wsd::make_decoder(weak, strong, cfg,
                             wsd::Samplers{wsd::Sampler(cfg.draft), wsd::ProcessedSampler<>::from(continuation)})
        .decode(c, wsd::Mode::online);
  };
  const wsd::Result plain = decode(1.0), penalised = decode(3.0);
  CHECK(plain.probs == penalised.probs);
  CHECK(plain.accept_index == penalised.accept_index);
  CHECK(wsd::to_json(penalised.config)["continuation"]["repetition_penalty"] == 3.0);
  CHECK_FALSE(wsd::to_json(plain.config)["continuation"].contains("repetition_penalty"));
}
