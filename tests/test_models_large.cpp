// The larger pair on demand (ctest label "models-large"; `make models-large` fetches it, `make
// test-large` runs these): Qwen2.5-Coder 0.5B and 1.5B Instruct share one tokenizer, so the
// shared-vocabulary path runs on real models; SmolLM2 -> Qwen 1.5B crosses vocabularies. Both Qwen
// models are instruct models: they stand in for the cost ratio and the shared vocabulary.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <wsd/providers/llama/default_models.hpp>
#include <wsd/providers/llama/llama_cpp.hpp>
#include <wsd/wsd.hpp>

namespace {

std::string existing(const std::string& path) {
  if (!std::filesystem::exists(path)) FAIL("model " << path << " is missing: run `make models-large`");
  return path;
}

// The strong provider, counting the texts it is asked to tokenize.
struct CountingTokenizer {
  wsd::LlamaProvider& p;
  mutable std::size_t tokenize_calls = 0;
  std::size_t vocab_size() const { return p.vocab_size(); }
  const wsd::SpecialTokens& special_tokens() const { return p.special_tokens(); }
  std::vector<wsd::Token> tokenize(std::string_view text) const {
    ++tokenize_calls;
    return p.tokenize(text);
  }
  std::string token_text(wsd::Token t) const { return p.token_text(t); }
  std::string detokenize(std::span<const wsd::Token> tokens) const { return p.detokenize(tokens); }
  wsd::LogitsBlock append(std::span<const wsd::Token> tokens, std::span<const std::size_t> rows) {
    return wsd::run_now(p.append(tokens, rows));
  }
  void rollback(std::size_t n) { p.rollback(n); }
  std::size_t length() const { return p.length(); }
};

std::vector<wsd::Conversation> prompts() {
  auto all = wsd::read_conversations(WSD_SOURCE_DIR "/examples/prompts.jsonl");
  all.resize(6);
  return all;
}

wsd::Config config(bool shared) {
  wsd::Config c;
  c.draft_max_tokens = 48;
  c.max_tokens = 64;
  c.shared_vocabulary = shared;
  return c;
}

// Online and offline on each prompt: the same switch, text and p_k bit for bit; the largest |p_k|
// difference is reported.
template <class Strong>
void online_equals_offline(wsd::LlamaProvider& weak, Strong& strong, const wsd::Config& cfg, const char* pair) {
  auto decoder = wsd::make_decoder(weak, strong, cfg);
  double max_diff = 0.0;
  int switched = 0;
  for (const auto& c : prompts()) {
    INFO(pair << ", conversation " << c.id);
    const auto offline = decoder.decode(c, wsd::Mode::offline);
    const auto online = decoder.decode(c, wsd::Mode::online);
    REQUIRE(online.accept_index == offline.accept_index);
    CHECK(online.reason == offline.reason);
    CHECK(online.text == offline.text);
    const auto kept = static_cast<std::size_t>(offline.accept_index + 1);  // offline scored the whole draft
    REQUIRE(online.probs.size() == kept);
    REQUIRE(offline.probs.size() >= kept);
    for (std::size_t k = 0; k < kept; ++k) max_diff = std::max(max_diff, std::abs(online.probs[k] - offline.probs[k]));
    CHECK(std::equal(online.probs.begin(), online.probs.end(), offline.probs.begin()));
    switched += offline.reason == wsd::DraftEnd::switched;
  }
  WARN(pair << ": max |p_k(online) - p_k(offline)| = " << max_diff << " over " << prompts().size() << " prompts, "
            << switched << " switched");
}

}  // namespace

TEST_CASE("Qwen 0.5B -> Qwen 1.5B: one vocabulary, detected, ids passed straight through, online equals offline",
          "[models-large]") {
  const auto pair = wsd::model_pair("qwen");
  wsd::LlamaProvider weak(existing(pair.weak), {.context = 1024}), strong(existing(pair.strong), {.context = 1024});
  CHECK(wsd::same_vocabulary(*weak.model(), *strong.model()));
  CHECK(strong.metadata("general.architecture") == "qwen2");
  CHECK_THAT(strong.metadata("general.name"), Catch::Contains("1.5B"));
  CountingTokenizer counting{strong};
  online_equals_offline(weak, counting, config(true), "qwen");
  // One tokenize per decode: the strong prompt. The draft never goes through the text bridge.
  CHECK(counting.tokenize_calls == 2 * prompts().size());
}

TEST_CASE("SmolLM2 -> Qwen 1.5B: different vocabularies through the text bridge, online equals offline",
          "[models-large]") {
  const auto pair = wsd::model_pair("smol-qwen");
  wsd::LlamaProvider weak(existing(pair.weak), {.context = 1024}), strong(existing(pair.strong), {.context = 1024});
  CHECK_FALSE(wsd::same_vocabulary(*weak.model(), *strong.model()));
  CountingTokenizer counting{strong};
  online_equals_offline(weak, counting, config(false), "smol-qwen");
  CHECK(counting.tokenize_calls > 2 * prompts().size());  // the bridge re-tokenizes prompt + draft
}
