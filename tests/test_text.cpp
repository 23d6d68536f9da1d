#include <catch2/catch.hpp>
#include <wsd/wsd.hpp>

#include "toy_providers.hpp"

TEST_CASE("a stop string is found when it straddles token pieces", "[stop]") {
  wsd::StopStrings stops({"[User]"});
  std::string text;
  std::optional<std::size_t> hit;
  for (std::string piece : {"Hello", " [U", "se", "r] more"}) {
    const auto before = text.size();
    text += piece;
    hit = stops.find(text, before);
    if (hit) break;
  }
  REQUIRE(hit);
  CHECK(*hit == 6);
  CHECK(stops.cut(text) == "Hello ");
}

TEST_CASE("the earliest of several stop strings wins, as the reference's sequential cut", "[stop]") {
  wsd::StopStrings stops(wsd::base_model_stop_strings());
  CHECK(stops.cut("answer\n\n[User]\nnext") == "answer");
  CHECK(stops.cut("answer [Assistant] x [User]") == "answer ");
  CHECK(stops.cut("no stop here") == "no stop here");
}

TEST_CASE("text that may still become a stop string is held back while streaming", "[stop]") {
  wsd::StopStrings stops({"[User]"});
  CHECK(stops.safe_prefix("Hello [Us") == 6);
  CHECK(stops.safe_prefix("Hello") == 5);
}

TEST_CASE("the stable end of a partial draft is before the whitespace of its last word", "[bridge]") {
  CHECK(wsd::stable_text_end("Hello wor") == 5);
  CHECK(wsd::stable_text_end("Hello world \n") == 11);
  CHECK(wsd::stable_text_end("Hello") == 0);
  CHECK(wsd::stable_text_end("") == 0);
}

TEST_CASE("re-tokenizing judges only tokens that can no longer change", "[bridge]") {
  toy::ToyProvider strong(toy::Vocabulary::words(), {});
  const wsd::StrongPrompt prompt{"p:", wsd::tokenize_with_bos(strong, "p:")};
  const auto partial = wsd::bridge_text(strong, prompt, "  tea ta", false);  // leading space is stripped
  const auto later = wsd::bridge_text(strong, prompt, "  tea tae", true);
  REQUIRE(partial.stable <= later.drafted());
  for (std::size_t i = 0; i < partial.stable; ++i) CHECK(partial.tokens[prompt.tokens.size() + i] == later.tokens[prompt.tokens.size() + i]);
  // " ta" may still become " tae": it must not be judged yet.
  CHECK(strong.detokenize(std::span<const wsd::Token>(partial.tokens).subspan(prompt.tokens.size(), partial.stable)) == "tea");
  CHECK(later.stable == later.drafted());
}

TEST_CASE("an empty or all-whitespace draft bridges to no drafted token", "[bridge]") {
  toy::ToyProvider strong(toy::Vocabulary::words(), {});
  const wsd::StrongPrompt prompt{"p:", wsd::tokenize_with_bos(strong, "p:")};
  CHECK(wsd::bridge_text(strong, prompt, " \n ", true).drafted() == 0);
}

TEST_CASE("BOS is put first unless the text already starts with it", "[bridge]") {
  toy::ToyProvider p(toy::Vocabulary::characters(), {});
  CHECK(wsd::tokenize_with_bos(p, "ab").front() == 0);
  CHECK(wsd::tokenize_with_bos(p, "<s>ab").size() == 3);
}

TEST_CASE("a conversation must end with the user (or an answer prefix after the user) and use known roles", "[conversation]") {
  CHECK_NOTHROW(wsd::validate_conversation({"a", {{"system", "s"}, {"user", "u"}}}));
  CHECK_NOTHROW(wsd::validate_conversation({"a", {{"user", "x"}, {"assistant", "y"}}}));  // an answer prefix
  CHECK(wsd::answer_prefix({"a", {{"user", "x"}, {"assistant", " The answer: "}}}) == "The answer:");
  CHECK(wsd::without_answer_prefix({"a", {{"user", "x"}, {"assistant", "y"}}}).messages.size() == 1);
  CHECK_THROWS_WITH(wsd::validate_conversation({"a", {{"system", "s"}, {"assistant", "y"}}}),
                    Catch::Contains("an answer prefix (a last message from the assistant) must follow a user message"));
  CHECK_THROWS_WITH(wsd::validate_conversation({"a", {}}), Catch::Contains("messages is empty"));
  CHECK_THROWS_WITH(wsd::validate_conversation({"a", {{"robot", "x"}}}), Catch::Contains("unknown role 'robot'"));
  CHECK_THROWS_WITH(wsd::validate_conversation({"a", {{"user", "bad \xff byte"}}}), Catch::Contains("not valid UTF-8 (byte 4)"));
}
