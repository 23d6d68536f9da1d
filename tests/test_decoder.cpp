#include <catch2/catch.hpp>
#include <wsd/wsd.hpp>

#include "toy_providers.hpp"

namespace {

// A character-level model that writes a fixed script after its prompt (which ends at the first
// ">" or "[Assistant]\n"), then EOS.
class ScriptProvider {
 public:
  explicit ScriptProvider(std::string script) : script_(std::move(script)) {}
  std::size_t vocab_size() const { return 128; }
  wsd::SpecialTokens special_tokens() const { return {std::nullopt, {4}}; }
  std::vector<wsd::Token> tokenize(std::string_view t) const { return {t.begin(), t.end()}; }
  std::string token_text(wsd::Token t) const { return std::string(1, static_cast<char>(t)); }
  std::string detokenize(std::span<const wsd::Token> ts) const {
    std::string s;
    for (auto t : ts)
      if (t != 4) s += static_cast<char>(t);
    return s;
  }
  std::size_t length() const { return context_.size(); }
  void rollback(std::size_t n) { context_.resize(std::min(n, context_.size())); }
  wsd::LogitsBlock append(std::span<const wsd::Token> tokens, std::span<const std::size_t> rows) {
    logits_.assign(rows.size() * 128, 0.0f);
    std::size_t r = 0;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      context_.push_back(tokens[i]);
      if (r < rows.size() && rows[r] == i) {
        const std::size_t k = context_.size() - prompt_end();
        logits_[128 * r + (k < script_.size() ? static_cast<unsigned char>(script_[k]) : 4u)] = 30.0f;
        ++r;
      }
    }
    return {logits_.data(), rows.size(), 128};
  }
  std::string apply_chat_template(const wsd::Conversation& c) const { return c.messages.back().content + ">"; }

 private:
  std::size_t prompt_end() const {
    const std::string text = detokenize(context_);
    const auto chat = text.find('>');
    const auto base = text.find("[Assistant]\n");
    return std::min(chat == std::string::npos ? text.size() : chat + 1,
                    base == std::string::npos ? text.size() : base + 12);
  }
  std::string script_;
  std::vector<wsd::Token> context_;
  std::vector<float> logits_;
};

const wsd::Conversation kHello{"h", {{"user", "hi"}}};

template <class Rule = wsd::NeverSwitch>
wsd::Result decode(ScriptProvider& weak, ScriptProvider& strong, wsd::Config cfg, wsd::Mode mode, Rule rule = {}) {
  cfg.shared_vocabulary = true;
  auto d = wsd::make_decoder(weak, strong, rule, cfg);
  return mode == wsd::Mode::online ? d.decode(kHello, wsd::Mode::online) : d.decode(kHello, wsd::Mode::offline);
}

}  // namespace

TEST_CASE("EOS in the draft ends it: the whole draft is kept and the strong model continues", "[decoder]") {
  ScriptProvider weak("abc"), strong("xyz");
  for (auto mode : {wsd::Mode::online, wsd::Mode::offline}) {
    const auto r = decode(weak, strong, {}, mode);
    CHECK(r.reason == wsd::DraftEnd::eos);
    CHECK(r.accept_index == 2);
    CHECK(r.accepted_text == "abc");
    CHECK(r.weak_tokens == 4);  // a, b, c and the EOS
  }
}

TEST_CASE("the draft stops at draft_max_tokens", "[decoder]") {
  ScriptProvider weak("abcdefgh"), strong("xyz");
  wsd::Config cfg;
  cfg.draft_max_tokens = 5;
  for (auto mode : {wsd::Mode::online, wsd::Mode::offline}) {
    const auto r = decode(weak, strong, cfg, mode);
    CHECK(r.reason == wsd::DraftEnd::length);
    CHECK(r.accepted_text == "abcde");
    CHECK(r.weak_tokens == 5);
  }
}

TEST_CASE("a stop string in the draft ends it before the stop string", "[decoder]") {
  ScriptProvider weak("abc<|im_end|>def"), strong("xyz");
  for (auto mode : {wsd::Mode::online, wsd::Mode::offline}) {
    const auto r = decode(weak, strong, {}, mode);
    CHECK(r.reason == wsd::DraftEnd::stop);
    CHECK(r.accepted_text == "abc");
  }
}

TEST_CASE("max_tokens bounds accepted draft plus continuation", "[decoder]") {
  ScriptProvider weak("abcdef"), strong("0123456789012345");
  wsd::Config cfg;
  cfg.max_tokens = 9;
  for (auto mode : {wsd::Mode::online, wsd::Mode::offline}) {
    const auto r = decode(weak, strong, cfg, mode);
    CHECK(r.accept_index == 5);
    CHECK(r.continuation_tokens.size() == 3);
    CHECK(r.text.size() == 9);
  }
}

TEST_CASE("a draft longer than max_tokens leaves no room for a continuation", "[decoder]") {
  ScriptProvider weak("abcdef"), strong("0123");
  wsd::Config cfg;
  cfg.max_tokens = 3;
  const auto r = decode(weak, strong, cfg, wsd::Mode::online);
  CHECK(r.continuation_tokens.empty());
}

TEST_CASE("a kept draft longer than max_tokens is cut to it: the answer is max_tokens tokens and ended by the budget",
          "[decoder][max_tokens]") {
  ScriptProvider weak("abcdef"), strong("0123");
  wsd::Config cfg;
  cfg.max_tokens = 3;
  cfg.draft_max_tokens = 32;
  cfg.chunk = 1;
  for (auto mode : {wsd::Mode::online, wsd::Mode::offline}) {
    const auto r = decode(weak, strong, cfg, mode);
    CHECK(r.reason == wsd::DraftEnd::max_tokens);
    CHECK(wsd::to_string(r.reason) == "max_tokens");
    CHECK(r.accept_index == 2);
    CHECK(r.accepted_text == "abc");
    CHECK(r.text == "abc");
    CHECK(wsd::answer_tokens(r) == 3);
    CHECK(r.continuation_tokens.empty());
    CHECK(wsd::ended_by_max_tokens(r));
  }
  // Online drafting stops where the judged draft reaches the budget.
  CHECK(decode(weak, strong, cfg, wsd::Mode::online).weak_tokens == 3);
}

TEST_CASE("a switch at the budget's last token is a switch, and one past it is cut by max_tokens", "[decoder][max_tokens]") {
  ScriptProvider weak("abcdefgh"), strong("0123");
  wsd::Config cfg;
  cfg.max_tokens = 4;
  for (auto mode : {wsd::Mode::online, wsd::Mode::offline}) {
    const auto at = decode(weak, strong, cfg, mode, wsd::FixedLengthSwitch(4));
    CHECK(at.reason == wsd::DraftEnd::switched);
    CHECK(at.accepted_text == "abcd");
    CHECK(at.text == "abcd");
    const auto past = decode(weak, strong, cfg, mode, wsd::FixedLengthSwitch(5));
    CHECK(past.reason == wsd::DraftEnd::max_tokens);
    CHECK(past.text == "abcd");
    const auto before = decode(weak, strong, cfg, mode, wsd::FixedLengthSwitch(2));
    CHECK(before.reason == wsd::DraftEnd::switched);
    CHECK(before.text == "ab23");  // the script continues at position 2
    CHECK(wsd::ended_by_max_tokens(before));
  }
}

TEST_CASE("max_tokens = 0: nothing is drafted or written", "[decoder][max_tokens]") {
  ScriptProvider weak("abc"), strong("xyz");
  wsd::Config cfg;
  cfg.max_tokens = 0;
  for (auto mode : {wsd::Mode::online, wsd::Mode::offline}) {
    const auto r = decode(weak, strong, cfg, mode);
    CHECK(r.reason == wsd::DraftEnd::max_tokens);
    CHECK(r.accept_index == -1);
    CHECK(r.text.empty());
    CHECK(r.strong_generated == 0);
  }
  CHECK(decode(weak, strong, cfg, wsd::Mode::online).weak_tokens == 0);
}

TEST_CASE("an answer that ends by itself within max_tokens is not ended by the budget", "[decoder][max_tokens]") {
  ScriptProvider weak("ab"), strong("__cd");  // strong writes "cd" after the kept "ab", then EOS
  wsd::Config cfg;
  cfg.max_tokens = 10;
  for (auto mode : {wsd::Mode::online, wsd::Mode::offline}) {
    const auto r = decode(weak, strong, cfg, mode);
    CHECK(r.text == "abcd");
    CHECK(r.continuation_reason == wsd::ContinuationEnd::eos);
    CHECK_FALSE(wsd::ended_by_max_tokens(r));
  }
  cfg.max_tokens = 4;  // the budget ends exactly where the answer would: the budget ended it
  CHECK(wsd::ended_by_max_tokens(decode(weak, strong, cfg, wsd::Mode::online)));
}

TEST_CASE("a stop string cut from the answer ends it, even when the continuation ran to its budget", "[decoder][max_tokens]") {
  ScriptProvider weak("ab[Us"), strong("_____er]\nmore");  // the stop string straddles draft and continuation
  wsd::Config cfg;
  cfg.max_tokens = 12;
  cfg.weak_stop_strings = {"<|im_end|>"};
  for (auto mode : {wsd::Mode::online, wsd::Mode::offline}) {
    const auto r = decode(weak, strong, cfg, mode);
    CHECK(r.text == "ab");
    CHECK(r.continuation_reason == wsd::ContinuationEnd::length);
    CHECK_FALSE(wsd::ended_by_max_tokens(r));
  }
}

TEST_CASE("a stop string in the continuation ends it and is cut from the answer, also across pieces", "[decoder]") {
  ScriptProvider weak("ab"), strong("__cd\n[Us" "er]\nmore");
  for (auto mode : {wsd::Mode::online, wsd::Mode::offline}) {
    const auto r = decode(weak, strong, {}, mode);
    CHECK(r.text == "abcd");  // the script continues at position 2, after the accepted "ab"
    CHECK(r.continuation_text.find("[User]") != std::string::npos);
  }
}

TEST_CASE("the continuation stops at the strong model's EOS", "[decoder]") {
  ScriptProvider weak("ab"), strong("xy");  // strong writes after its own prompt: positions 0,1 then EOS
  const auto r = decode(weak, strong, {}, wsd::Mode::online);
  CHECK(r.continuation_tokens.size() <= 2);
}

TEST_CASE("streaming delivers exactly the answer: accepted draft, then the continuation", "[decoder]") {
  ScriptProvider weak("ab"), strong("__cd\n[User]x");
  wsd::Config cfg;
  cfg.shared_vocabulary = true;
  auto d = wsd::make_decoder(weak, strong, wsd::NeverSwitch{}, cfg);
  std::string draft, cont;
  const auto r = d.decode(kHello, wsd::Mode::online, {[&](std::string_view t) { draft += t; }, [&](std::string_view t) { cont += t; }});
  CHECK(draft == "ab");
  CHECK(draft + cont == r.text);
}

TEST_CASE("a provider returning logits of the wrong vocabulary size is detected", "[decoder]") {
  struct Wrong : ScriptProvider {
    using ScriptProvider::ScriptProvider;
    std::size_t vocab_size() const { return 200; }
  };
  Wrong weak("ab");
  ScriptProvider strong("xy");
  wsd::Config cfg;
  cfg.shared_vocabulary = true;
  auto d = wsd::make_decoder(weak, strong, wsd::NeverSwitch{}, cfg);
  CHECK_THROWS_WITH(d.decode(kHello, wsd::Mode::online), Catch::Contains("logits over 128 tokens, its vocabulary has 200"));
}

TEST_CASE("a provider returning NaN logits is detected", "[decoder]") {
  toy::ToyProvider weak(toy::Vocabulary::characters(), {}), strong(toy::Vocabulary::characters(), {1, 1.0, std::nan(""), 0});
  wsd::Config cfg;
  auto d = wsd::make_decoder(weak, strong, wsd::WindowMeanSwitch(), cfg);
  CHECK_THROWS_AS(d.decode(kHello, wsd::Mode::online), wsd::ProviderError);
  CHECK_THROWS_WITH(d.decode(kHello, wsd::Mode::offline), Catch::Contains("conversation 'h': ") && Catch::Contains("NaN"));
}

TEST_CASE("a provider returning infinite logits is detected", "[decoder]") {
  struct Infinite : ScriptProvider {
    using ScriptProvider::ScriptProvider;
    wsd::LogitsBlock append(std::span<const wsd::Token> tokens, std::span<const std::size_t> rows) {
      wsd::LogitsBlock b = ScriptProvider::append(tokens, rows);
      if (b.rows > 0) const_cast<float*>(b.data)[5] = std::numeric_limits<float>::infinity();
      return b;
    }
  };
  Infinite weak("ab");
  ScriptProvider strong("xy");
  wsd::Config cfg;
  cfg.shared_vocabulary = true;
  auto d = wsd::make_decoder(weak, strong, wsd::NeverSwitch{}, cfg);
  CHECK_THROWS_AS(d.decode(kHello, wsd::Mode::online), wsd::ProviderError);
  CHECK_THROWS_WITH(d.decode(kHello, wsd::Mode::online), Catch::Contains("conversation 'h': ") && Catch::Contains("not finite"));
}

TEST_CASE("a tokenizer returning ids outside its vocabulary is detected and named", "[decoder]") {
  ScriptProvider weak("ab"), strong("xy");  // its ids are char codes: bytes over 127 become negative
  auto d = wsd::make_decoder(weak, strong, wsd::NeverSwitch{}, wsd::Config{});
  const wsd::Conversation accents{"accents", {{"user", "caf\xc3\xa9"}}};
  CHECK_THROWS_AS(d.decode(accents, wsd::Mode::online), wsd::ProviderError);
  CHECK_THROWS_WITH(d.decode(accents, wsd::Mode::offline),
                    Catch::Contains("conversation 'accents': ") && Catch::Contains("token id -61, outside its vocabulary of 128"));
}

TEST_CASE("decoding an invalid conversation fails with an input error before any model runs", "[decoder]") {
  toy::ToyProvider weak(toy::Vocabulary::characters(), {}), strong(toy::Vocabulary::characters(), {});
  auto d = wsd::make_decoder(weak, strong, wsd::WindowMeanSwitch(), wsd::Config{});
  CHECK_THROWS_AS(d.decode({"x", {}}, wsd::Mode::online), wsd::InputError);
  CHECK(weak.append_calls == 0);
}

TEST_CASE("a wrong policy fails to compile with the concept's name", "[decoder]") {
  STATIC_REQUIRE_FALSE(wsd::LogitsProvider<int>);
  STATIC_REQUIRE(wsd::LogitsProvider<ScriptProvider>);
  STATIC_REQUIRE(wsd::WeakDrafterPolicy<wsd::WeakDrafter<ScriptProvider, wsd::BaseModelTemplate>>);
  STATIC_REQUIRE(wsd::StrongModelPolicy<wsd::StrongModel<wsd::FullRowScorer<ScriptProvider>, wsd::BaseModelTemplate>>);
}
