// Tests with the real default models (ctest label "models"; `make test` fetches them first).
#include <catch2/catch.hpp>
#include <wsd/providers/llama/default_models.hpp>
#include <wsd/providers/llama/llama_cpp.hpp>
#include <wsd/pairs/llama_pair.hpp>
#include <wsd/wsd.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>

namespace {

std::string existing(const std::string& path) {
  if (!std::filesystem::exists(path)) FAIL("model " << path << " is missing: run `make models` (or `make test`)");
  return path;
}
std::string weak_path() { return existing(wsd::default_weak_model()); }
std::string strong_path() { return existing(wsd::default_strong_model()); }

std::vector<wsd::Conversation> prompt_set() { return wsd::read_conversations(WSD_SOURCE_DIR "/examples/prompts.jsonl"); }

wsd::Config test_config(bool shared) {
  wsd::Config c;
  c.draft_max_tokens = 48;  // sized for a 2-core CI machine; the rule is the same at any length
  c.max_tokens = 64;
  c.shared_vocabulary = shared;
  return c;
}

// Online against offline on the prompt set (or the prompts of the ids given).
void check_pair(wsd::LlamaProvider& weak, wsd::LlamaProvider& strong, bool shared, const std::vector<std::string>& ids = {}) {
  const wsd::Config cfg = test_config(shared);
  auto decoder = wsd::make_decoder(weak, strong, wsd::WindowMeanSwitch(cfg.switch_args["threshold"], static_cast<std::size_t>(cfg.switch_args["window"])), cfg);
  int switched = 0;
  auto set = prompt_set();
  if (!ids.empty())
    std::erase_if(set, [&](const wsd::Conversation& c) { return std::find(ids.begin(), ids.end(), c.id) == ids.end(); });
  for (const auto& c : set) {
    INFO("conversation " << c.id);
    const auto offline = decoder.decode(c, wsd::Mode::offline);
    const auto online = decoder.decode(c, wsd::Mode::online);
    REQUIRE(online.accept_index == offline.accept_index);
    CHECK(online.reason == offline.reason);
    CHECK(online.text == offline.text);
    const auto kept = static_cast<std::size_t>(offline.accept_index + 1);
    REQUIRE(online.probs.size() == kept);
    CHECK(std::equal(online.probs.begin(), online.probs.end(), offline.probs.begin()));
    // The trace obeys the rule: probabilities in (0, 1], the accept index is the first window at tau.
    for (double p : offline.probs) CHECK((p > 0.0 && p <= 1.0));
    CHECK(wsd::accept_index(wsd::WindowMeanSwitch(cfg.switch_args["threshold"], static_cast<std::size_t>(cfg.switch_args["window"])), offline.probs) == offline.accept_index);
    CHECK_FALSE(offline.text.empty());
    for (const auto& stop : cfg.strong_stop_strings) CHECK(offline.text.find(stop) == std::string::npos);
    switched += offline.reason == wsd::DraftEnd::switched;
  }
  CHECK(switched > 0);
}

}  // namespace

TEST_CASE("the default strong model is Gemma 3 270M pre-trained, the weak one an instruct model", "[models]") {
  wsd::LlamaProvider strong(strong_path(), {.context = 512});
  CHECK(strong.metadata("general.architecture") == "gemma3");
  CHECK(strong.metadata("general.name") == "Gemma 3 270m");
  CHECK(strong.metadata("general.finetune").empty());  // the instruction-tuned release is "-it"
  CHECK(strong.metadata("tokenizer.chat_template").empty());
  wsd::LlamaProvider weak(weak_path(), {.context = 512});
  CHECK(weak.metadata("general.basename") == "smollm2");
  CHECK_FALSE(weak.metadata("tokenizer.chat_template").empty());
}

TEST_CASE("online equals offline on every conversation of the prompt set: SmolLM2 drafts, Gemma 3 continues",
          "[models]") {
  wsd::LlamaProvider weak(weak_path()), strong(strong_path());
  check_pair(weak, strong, false);
}

TEST_CASE("online equals offline with a shared vocabulary (SmolLM2 on both sides, ids passed through)", "[models]") {
  wsd::LlamaProvider weak(weak_path()), strong(weak_path());
  check_pair(weak, strong, true);
}

TEST_CASE("the chat template renders a multi-turn conversation as the model's Jinja template does", "[models]") {
  wsd::LlamaProvider weak(weak_path(), {.context = 512});
  const wsd::Conversation with_system{"t", {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello!"}, {"user", "Bye?"}}};
  CHECK(weak.apply_chat_template(with_system) ==
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
        "<|im_start|>user\nBye?<|im_end|>\n<|im_start|>assistant\n");
  const wsd::Conversation no_system{"t", {{"user", "Hi"}}};
  CHECK(weak.apply_chat_template(no_system) ==
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST_CASE("the base-model template renders a multi-turn conversation as the reference does", "[models]") {
  const wsd::Conversation c{"t", {{"system", " Be brief. "}, {"user", "Hi\n"}, {"assistant", "Hello!"}, {"user", "Bye?"}}};
  CHECK(wsd::BaseModelTemplate{}.render(c) ==
        "\n\n[System]\nBe brief.\n\n[User]\nHi\n\n[Assistant]\nHello!\n\n[User]\nBye?\n\n[Assistant]\n");
  wsd::LlamaProvider strong(strong_path(), {.context = 512});
  const auto tokens = wsd::tokenize_with_bos(strong, wsd::BaseModelTemplate{}.render(c));
  CHECK(tokens.front() == *strong.special_tokens().bos);  // BOS first, as the reference prepends it
}

TEST_CASE("rolling Gemma 3's sliding-window cache back past the window gives the logits of a fresh run", "[models]") {
  wsd::LlamaProvider strong(strong_path(), {.context = 1024});
  REQUIRE(strong.metadata("gemma3.attention.sliding_window") == "512");
  std::string text;
  for (int i = 0; i < 60; ++i) text += "The quick brown fox jumps over the lazy dog number " + std::to_string(i) + ". ";
  auto tokens = wsd::tokenize_with_bos(strong, text);
  REQUIRE(tokens.size() > 700);
  tokens.resize(700);
  // A prompt of 40 tokens first, read alone as the decoders read one (LlamaOptions::whole_prompts).
  const auto all = std::span<const wsd::Token>(tokens);
  const std::size_t prompt_last = 39;
  wsd::run_now(strong.append(all.first(40), std::span<const std::size_t>(&prompt_last, 1)));
  const std::size_t last = 659;
  const auto fresh = wsd::run_now(strong.append(all.subspan(40), std::span<const std::size_t>(&last, 1)));
  const std::vector<float> expected(fresh.row(0), fresh.row(0) + fresh.vocab);
  strong.rollback(0);
  wsd::run_now(strong.append(all.first(40), std::span<const std::size_t>(&prompt_last, 1)));
  const std::size_t none = 610;  // fill past the window, then go back into it
  wsd::run_now(strong.append(all.subspan(40, 611), std::span<const std::size_t>(&none, 1)));
  strong.rollback(520);
  const std::size_t row = 179;
  const auto again = wsd::run_now(strong.append(std::span<const wsd::Token>(tokens).subspan(520), std::span<const std::size_t>(&row, 1)));
  REQUIRE(strong.length() == 700);
  CHECK(std::equal(expected.begin(), expected.end(), again.row(0)));
}

TEST_CASE("a real model file cut short is a ModelError naming the file", "[models][errors]") {
  const std::string source = weak_path();
  const auto size = std::filesystem::file_size(source);
  const auto dir = std::filesystem::temp_directory_path() / "wsd-truncated";
  std::filesystem::create_directories(dir);
  for (std::uintmax_t keep : {std::uintmax_t{1} << 20, size / 2, size - 4096}) {
    const auto path = (dir / ("cut-" + std::to_string(keep) + ".gguf")).string();
    std::filesystem::copy_file(source, path, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::resize_file(path, keep);
    CAPTURE(keep);
    CHECK_THROWS_AS(wsd::LlamaProvider(path), wsd::ModelError);
    CHECK_THROWS_WITH(wsd::LlamaProvider(path), Catch::Contains(path));
    std::filesystem::remove(path);
  }
}

TEST_CASE("a conversation longer than the context window is an input error naming it", "[models][errors]") {
  wsd::LlamaProvider weak(weak_path(), {.context = 256}), strong(strong_path(), {.context = 256});
  std::string long_text;
  for (int i = 0; i < 80; ++i) long_text += "Tell me about the number " + std::to_string(i) + ". ";
  const wsd::Conversation c{"too-long", {{"user", long_text}}};
  auto decoder = wsd::make_decoder(weak, strong, wsd::WindowMeanSwitch(), wsd::Config{});
  CHECK_THROWS_AS(decoder.decode(c, wsd::Mode::online), wsd::ContextOverflowError);
  CHECK_THROWS_WITH(decoder.decode(c, wsd::Mode::offline), Catch::Contains("conversation 'too-long': ") &&
                                                   Catch::Contains("do not fit its context window of 256 tokens"));
  // The providers stay usable: a short conversation decodes afterwards.
  wsd::Config small;
  small.draft_max_tokens = 8;
  small.max_tokens = 16;
  auto ok = wsd::make_decoder(weak, strong, wsd::WindowMeanSwitch(), small);
  CHECK_FALSE(ok.decode({"short", {{"user", "Say hello."}}}, wsd::Mode::online).text.empty());
}

namespace {

// A record without its timing: what must not depend on how conversations were batched.
nlohmann::json untimed(const wsd::Result& r) {
  nlohmann::json j = wsd::to_json(r);
  j.erase("timing");
  return j;
}

struct ParallelRun {
  std::map<std::string, nlohmann::json> records;
  std::map<std::string, std::string> errors;
  std::size_t widest = 0;
};

// The conversations with n in flight over the default pair (batch-invariant kernels).
ParallelRun run_parallel(const std::vector<wsd::Conversation>& cs, std::size_t n, wsd::Mode mode, bool reference_passes = false) {
  wsd::LlamaOptions opts;
  opts.context = 512;
  auto weak = std::make_shared<const wsd::LlamaModel>(weak_path(), opts);
  auto strong = std::make_shared<const wsd::LlamaModel>(strong_path(), opts);
  wsd::LlamaPairSequences sequences(weak, strong, n);
  wsd::Config cfg = test_config(false);
  cfg.mode = mode;
  auto decoders = sequences.decoders(cfg);
  ParallelRun out;
  auto done = [&](wsd::Outcome o) {
    const std::string& id = cs[o.index].id;
    REQUIRE(out.records.count(id) + out.errors.count(id) == 0);
    if (o.result) {
      out.records[id] = untimed(*o.result);
      return;
    }
    try {
      std::rethrow_exception(o.error);
    } catch (const std::exception& e) {
      out.errors[id] = e.what();
    }
  };
  const wsd::LoopStats stats = reference_passes ? wsd::decode_offline_batched(std::span(decoders), std::span(cs), done)
                                                : wsd::decode_parallel(std::span(decoders), std::span(cs), done);
  out.widest = stats.widest;
  return out;
}

}  // namespace

TEST_CASE("the same records with 1 and 4 conversations in flight, and among unrelated ones, and a conversation "
          "too long for its context fails alone", "[models][parallel]") {
  const auto set = prompt_set();
  const ParallelRun one = run_parallel(set, 1, wsd::Mode::online);
  const ParallelRun four = run_parallel(set, 4, wsd::Mode::online);
  REQUIRE(one.errors.empty());
  REQUIRE(four.errors.empty());
  CHECK(four.widest >= 3);  // calls of several conversations did share batches
  // Half of the set among unrelated conversations and one that cannot fit, three at a time.
  std::vector<wsd::Conversation> mixed;
  std::string long_text;
  for (int i = 0; i < 60; ++i) long_text += "Tell me about the number " + std::to_string(i) + ". ";
  mixed.push_back({"too-long", {{"user", long_text}}});
  // One that fits but holds over 256 tokens: llama.cpp's attention spans more KV cells for it.
  mixed.push_back({"long-unrelated", {{"user", long_text.substr(0, long_text.size() / 2)}}});
  for (std::size_t i = 0; i < set.size(); i += 2) {
    mixed.push_back(set[i]);
    mixed.push_back({"unrelated-" + std::to_string(i), {{"user", "Name a colour and a fruit, number " + std::to_string(i) + "."}}});
  }
  const ParallelRun among = run_parallel(mixed, 3, wsd::Mode::online);
  REQUIRE(among.errors.size() == 1);
  CHECK_THAT(among.errors.at("too-long"), Catch::Contains("conversation 'too-long'") && Catch::Contains("do not fit"));
  for (const auto& c : set) {
    INFO("conversation " << c.id);
    CHECK(four.records.at(c.id) == one.records.at(c.id));
    if (among.records.count(c.id)) CHECK(among.records.at(c.id) == one.records.at(c.id));
  }
}

TEST_CASE("online equals the reference's passes batched over the set, 4 conversations in flight", "[models][parallel]") {
  const auto set = prompt_set();
  const ParallelRun online = run_parallel(set, 4, wsd::Mode::online);
  const ParallelRun offline = run_parallel(set, 4, wsd::Mode::offline, /*reference_passes=*/true);
  REQUIRE(offline.errors.empty());
  int switched = 0;
  for (const auto& c : set) {
    INFO("conversation " << c.id);
    const auto& on = online.records.at(c.id);
    const auto& off = offline.records.at(c.id);
    REQUIRE(on["switch"]["index"] == off["switch"]["index"]);
    CHECK(on["text"] == off["text"]);
    CHECK(on["continuation"]["tokens"] == off["continuation"]["tokens"]);
    const auto kept = on["switch"]["index"].get<long>() + 1;
    for (long k = 0; k < kept; ++k) CHECK(on["draft"]["probs"][k] == off["draft"]["probs"][k]);
    switched += off["switch"]["reason"] == "switch";
  }
  CHECK(switched > 0);
}

TEST_CASE("an answer prefix on the real models: continued, not drafted, online equals offline", "[models][prefix]") {
  wsd::LlamaProvider weak(weak_path(), {.context = 1024}), strong(strong_path(), {.context = 1024});
  const wsd::Config cfg = test_config(false);
  auto decoder = wsd::make_decoder(weak, strong, wsd::WindowMeanSwitch(cfg.switch_args["threshold"], static_cast<std::size_t>(cfg.switch_args["window"])), cfg);
  const wsd::Conversation c{"prefix", {{"user", "How do I make a simple loaf of bread at home?"},
                                       {"assistant", "Here are the steps to make bread at home:\n\n1."}}};
  const auto offline = decoder.decode(c, wsd::Mode::offline);
  const auto online = decoder.decode(c, wsd::Mode::online);
  CHECK(online.accept_index == offline.accept_index);
  CHECK(online.text == offline.text);
  CHECK(std::equal(online.probs.begin(), online.probs.end(), offline.probs.begin(), offline.probs.end()));
  CHECK(offline.answer_prefix == "Here are the steps to make bread at home:\n\n1.");
  CHECK(offline.text.starts_with(offline.answer_prefix));
  CHECK(offline.text.size() > offline.answer_prefix.size());
  // The weak model was prompted with its chat template, then the prefix; the strong one likewise.
  const auto weak_prompt = weak.apply_chat_template(wsd::without_answer_prefix(c));
  CHECK(weak_prompt.ends_with("<|im_start|>assistant\n"));
  CHECK(wsd::run_now(decoder.strong().prompt(c)).text.ends_with("\n\n[Assistant]\n" + offline.answer_prefix));
  CHECK(offline.weak_tokens <= cfg.draft_max_tokens + 1);
}
