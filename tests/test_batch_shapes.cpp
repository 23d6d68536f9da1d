// Batch invariance on the CPU with the real default models (ctest label "models"): exact mode's
// rows are the bits of each token read alone at every sampled physical batch width, past 512 cached
// tokens, in batches mixing sequences, and for weights of the types the patch's gate matters to.
// The full tables are wsd-batch-shapes' (README, GPUs and exactness).
#include <catch2/catch.hpp>
#include <wsd/providers/llama/batch_shapes.hpp>
#include <wsd/providers/llama/default_models.hpp>

#include <filesystem>
#include <tuple>

namespace {

std::string existing(const std::string& path) {
  if (!std::filesystem::exists(path)) FAIL("model " << path << " is missing: run `make models` (or `make test`)");
  return path;
}

// A text of `n` tokens of the model's vocabulary.
std::vector<wsd::Token> text_of(const wsd::LlamaModel& m, std::size_t n) {
  std::string text;
  for (int i = 0; text.size() < 8 * n; ++i)
    text += "Sentence " + std::to_string(i) + ": the quick brown fox jumps over the lazy dog, and E = mc^2. ";
  auto tokens = m.tokenize(text);
  REQUIRE(tokens.size() >= n);
  tokens.resize(n);
  return tokens;
}

// Widths sampled from wsd-batch-shapes' table (`all`), or a few of them up to 129, each over enough
// tokens to hold a batch of it and a part of the next; with `all` the widest over 530 tokens, past
// the 512 cached tokens from which llama.cpp's stock attention splits the KV cache of a one-token
// read. Every row of the narrow widths is compared, every 8th (and the last) of the wide ones.
void check_widths(const std::string& path, bool all_widths) {
  const auto model = std::make_shared<const wsd::LlamaModel>(path, wsd::LlamaOptions{.context = 600, .gpu_layers = 0});
  const std::size_t vocab = model->vocab_size(), stride = 8;
  const auto tokens = text_of(*model, all_widths ? 530 : 137);
  const auto text = std::span<const wsd::Token>(tokens);
  const std::vector<float> narrow = wsd::rows_alone(model, text.first(24));
  const std::vector<float> wide = wsd::rows_alone(model, text, stride);  // the rows of 137 tokens are its first 18
  const std::vector<int> narrow_widths = all_widths ? std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
                                                    : std::vector<int>{1, 2, 7, 8, 16};
  for (int u : narrow_widths) {
    INFO(path << ": physical batches of " << u << " over 24 tokens");
    CHECK(wsd::width_difference(model, text.first(24), narrow, u).identical);
  }
  const std::vector<int> middle = all_widths ? std::vector<int>{63, 64, 65, 127, 128, 129} : std::vector<int>{64, 129};
  for (int u : middle) {
    INFO(path << ": physical batches of " << u << " over 137 tokens");
    CHECK(wsd::width_difference(model, text.first(137), std::span<const float>(wide).first(18 * vocab), u, stride).identical);
  }
  if (!all_widths) return;
  for (int u : {511, 512}) {
    INFO(path << ": physical batches of " << u << " over 530 tokens");
    CHECK(wsd::width_difference(model, text, wide, u, stride).identical);
  }
}

}  // namespace

TEST_CASE("on the CPU exact mode reads the default pair at every width to 512, sequences sharing batches", "[models][invariance]") {
  for (const std::string& path : {existing(wsd::default_weak_model()), existing(wsd::default_strong_model())}) {
    INFO(path);
    const auto m = std::make_shared<const wsd::LlamaModel>(path, wsd::LlamaOptions{.context = 600, .gpu_layers = 0});
    CHECK(m->kernels() == "reference");
    CHECK(m->invariance() == wsd::BatchInvariance{wsd::kReferenceWidth, true});
    wsd::LlamaSequence seq(m);
    wsd::Settings s;
    seq.describe(s);
    CHECK(*wsd::find_setting(s, "physical_batch") == wsd::Setting::Value(std::int64_t{512}));
    CHECK(*wsd::find_setting(s, "sequences_share_batches") == wsd::Setting::Value(true));
  }
}

TEST_CASE("exact mode's rows are each token's alone at widths 1-16, 63-65, 127-129 and 511-512, past 512 cached tokens",
          "[models][invariance]") {
  check_widths(existing(wsd::default_weak_model()), true);    // SmolLM2: Q4_1, Q8_0
  check_widths(existing(wsd::default_strong_model()), false);  // Gemma 3: Q4_K, Q6_K, Q8_0 (a sample to 129: 5 times the vocabulary)
}

TEST_CASE("exact mode's rows in batches mixing sequences of different lengths are each sequence's alone", "[models][invariance]") {
  // SmolLM2 in batches of 32 sequences, Gemma (a vocabulary 5 times larger) of 8.
  for (const auto& [path, n, widths] : {std::tuple{existing(wsd::default_weak_model()), 32, std::vector<int>{512}},
                                        std::tuple{existing(wsd::default_strong_model()), 8, std::vector<int>{64}}}) {
    const auto model = std::make_shared<const wsd::LlamaModel>(path, wsd::LlamaOptions{.context = 256, .gpu_layers = 0});
    const wsd::SequenceMix mix(text_of(*model, 64), static_cast<std::size_t>(n));
    const auto alone = wsd::mix_alone(model, mix);
    for (int u : widths) {
      INFO(path << ": " << n << " sequences, physical batches of " << u);
      CHECK(wsd::mix_difference(model, mix, alone, u).identical);
    }
  }
}

TEST_CASE("the fast kernels are not batch-invariant: the check above can fail", "[models][invariance]") {
  // Gemma's Q4_K weights take ggml's tiled matmul from 8 rows in fast mode (what the reference
  // kernels' llama_set_reference_kernels turns off), and its rows move.
  const std::string path = existing(wsd::default_strong_model());
  const wsd::LlamaOptions fast{.context = 128, .batch_invariant = false, .gpu_layers = 0};
  const auto model = std::make_shared<const wsd::LlamaModel>(path, fast);
  CHECK(model->kernels() == "fast");
  const auto tokens = text_of(*model, 32);
  const auto reference = wsd::rows_alone(model, tokens);
  CHECK_FALSE(wsd::width_difference(model, tokens, reference, 16).identical);
}

TEST_CASE("F16 and Q8_0 weights, which llamafile's sgemm takes from 2 rows, stay invariant with the reference kernels",
          "[models][invariance]") {
  // The patch's gate: llamafile's sgemm is skipped under use_ref. SmolLM2 requantised by
  // llama.cpp's own quantizer; with the gate missing, F16 differs from 2 rows on.
  const auto dir = std::filesystem::temp_directory_path() / "wsd-batch-shapes";
  std::filesystem::create_directories(dir);
  for (const auto& [name, ftype] : {std::pair{"F16", LLAMA_FTYPE_MOSTLY_F16}, std::pair{"Q8_0", LLAMA_FTYPE_MOSTLY_Q8_0}}) {
    const std::string path = (dir / (std::string("SmolLM2-") + name + ".gguf")).string();
    llama_model_quantize_params params = llama_model_quantize_default_params();
    params.ftype = ftype;
    params.allow_requantize = true;
    REQUIRE(llama_model_quantize(existing(wsd::default_weak_model()).c_str(), path.c_str(), &params) == 0);
    const wsd::LlamaOptions exact{.context = 128, .gpu_layers = 0};
    const auto model = std::make_shared<const wsd::LlamaModel>(path, exact);
    CHECK(model->invariance() == wsd::BatchInvariance{wsd::kReferenceWidth, true});
    const auto tokens = text_of(*model, 40);
    const auto reference = wsd::rows_alone(model, tokens);
    for (int u : {2, 3, 4, 8, 16, 40}) {
      INFO(name << ": physical batches of " << u);
      CHECK(wsd::width_difference(model, tokens, reference, u).identical);
    }
    std::filesystem::remove(path);
  }
}
