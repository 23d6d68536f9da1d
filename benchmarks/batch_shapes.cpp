// wsd-batch-shapes: which physical batch sizes give a model's logits bit for bit the same however
// its tokens are grouped, on the backend it runs on. For each physical batch size u the same
// tokens are read twice (in one call, and in calls of uneven sizes) and every row is compared with
// a reference read one token at a time: the online decoder equals the offline reference only where
// the rows it compares are the same bits. With --decode N, the default pair then answers N prompts
// online and offline in both kernel modes (batch-invariant, fast), and a second table says how far
// the two forms are apart. Prints Markdown tables; exits 0.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>
#include <wsd/providers/llama/default_models.hpp>
#include <wsd/providers/llama/llama_cpp.hpp>
#include <wsd/wsd.hpp>

#include "../examples/tools/exit_codes.hpp"

namespace {

// Every row of `tokens` read by one sequence of a model loaded with `options`, appended in calls
// of the given sizes (the last call takes the rest).
std::vector<float> rows(const std::string& path, wsd::LlamaOptions options, const std::vector<wsd::Token>& tokens,
                        const std::vector<std::size_t>& calls) {
  wsd::LlamaSequence seq(std::make_shared<const wsd::LlamaModel>(path, options));
  std::vector<float> out;
  std::size_t at = 0;
  for (std::size_t i = 0; at < tokens.size(); ++i) {
    const std::size_t n = i < calls.size() ? std::min(calls[i], tokens.size() - at) : tokens.size() - at;
    std::vector<std::size_t> wanted(n);
    for (std::size_t r = 0; r < n; ++r) wanted[r] = r;
    const wsd::LogitsBlock b = wsd::run_now(seq.append(std::span<const wsd::Token>(tokens).subspan(at, n), wanted));
    out.insert(out.end(), b.data, b.data + n * b.vocab);
    at += n;
  }
  return out;
}

struct Difference {
  bool identical = true;
  double max_logit = 0.0;  // largest |d logit| over every row and token
  double max_p = 0.0;      // largest |d p| of the token that follows, over the rows
};

Difference compare(const std::vector<float>& a, const std::vector<float>& b, const std::vector<wsd::Token>& tokens,
                   std::size_t vocab) {
  Difference d;
  for (std::size_t r = 0; r < tokens.size(); ++r) {
    const float* x = a.data() + r * vocab;
    const float* y = b.data() + r * vocab;
    for (std::size_t t = 0; t < vocab; ++t) {
      if (x[t] != y[t]) d.identical = false;
      d.max_logit = std::max(d.max_logit, std::fabs(static_cast<double>(x[t]) - static_cast<double>(y[t])));
    }
    if (r + 1 < tokens.size()) {
      const wsd::Token next = tokens[r + 1];
      const double p = std::exp(wsd::log_token_probability(x, vocab, next));
      const double q = std::exp(wsd::log_token_probability(y, vocab, next));
      d.max_p = std::max(d.max_p, std::fabs(p - q));
    }
  }
  return d;
}

// Online against offline on the first n prompts, in one kernel mode.
void decode_table_row(const std::vector<wsd::Conversation>& prompts, int gpu_layers, bool invariant) {
  wsd::LlamaOptions o;
  o.gpu_layers = gpu_layers;
  o.context = 512;
  o.batch_invariant = invariant;
  wsd::LlamaProvider weak(wsd::default_weak_model(), o), strong(wsd::default_strong_model(), o);
  wsd::Config cfg;
  cfg.draft_max_tokens = 32;
  cfg.max_tokens = 48;
  auto decoder = wsd::make_decoder(weak, strong, cfg);
  std::size_t same_text = 0, same_switch = 0;
  double largest = 0.0;
  for (const auto& c : prompts) {
    const wsd::Result off = decoder.decode(c, wsd::Mode::offline), on = decoder.decode(c, wsd::Mode::online);
    same_text += on.text == off.text;
    same_switch += on.accept_index == off.accept_index;
    for (std::size_t k = 0; k < std::min(on.probs.size(), off.probs.size()); ++k)
      largest = std::max(largest, std::fabs(on.probs[k] - off.probs[k]));
  }
  std::printf("| %s | %s | %zu/%zu | %zu/%zu | %.3g |\n", strong.model()->placement().label().c_str(),
              invariant ? "batch-invariant" : "fast", same_text, prompts.size(), same_switch, prompts.size(), largest);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"wsd-batch-shapes: which physical batch sizes give bit-identical logits on a backend"};
  std::vector<std::string> models{wsd::default_weak_model(), wsd::default_strong_model()};
  int gpu_layers = wsd::kAllLayersWhereGpu, largest = 16;
  std::size_t length = 48;
  app.add_option("--model", models, "GGUF files to measure (default: the default pair)");
  app.add_option("--gpu-layers", gpu_layers, "layers on the GPU (-1: all where there is one, 0: the CPU)");
  app.add_option("--largest", largest, "the largest physical batch size to try (0: no shapes table)")->check(CLI::Range(0, 512));
  app.add_option("--tokens", length, "tokens read per run")->check(CLI::Range(8, 4096));
  std::size_t decode = 0;
  std::string prompts_file = "examples/prompts.jsonl";
  app.add_option("--decode", decode, "then answer this many prompts online and offline in both kernel modes (0: none)");
  app.add_option("--prompts", prompts_file, "the prompts for --decode")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : wsd::tools::kExitUsage;
  }
  try {
    if (largest > 0)
      std::printf("| model | device | physical batch | bit-identical | max abs d logit | max abs d p |\n|---|---|---|---|---|---|\n");
    for (const std::string& path : models) {
      if (largest == 0) break;
      wsd::LlamaOptions options;
      options.gpu_layers = gpu_layers;
      options.batch = 512;
      options.context = static_cast<int>(length) + 16;
      options.ubatch = 1;
      const wsd::LlamaModel probe(path, options);
      const std::string text =
          "The quick brown fox jumps over the lazy dog. In 1905 Einstein published four papers; "
          "the third, on special relativity, begins with Maxwell's electrodynamics and ends with E = mc^2.";
      std::vector<wsd::Token> tokens = probe.tokenize(text);
      while (tokens.size() < length) tokens.insert(tokens.end(), tokens.begin(), tokens.end());
      tokens.resize(length);
      const std::vector<float> reference = rows(path, options, tokens, std::vector<std::size_t>(length, 1));
      std::mt19937 rng(7);
      for (int u = 1; u <= largest; ++u) {
        options.ubatch = u;
        std::vector<std::size_t> uneven;  // calls of 1 to 2u tokens: physical batches start anywhere
        for (std::size_t n = 0; n < length;) uneven.push_back(1 + rng() % static_cast<unsigned>(2 * u)), n += uneven.back();
        Difference d = compare(reference, rows(path, options, tokens, {length}), tokens, probe.vocab_size());
        const Difference e = compare(reference, rows(path, options, tokens, uneven), tokens, probe.vocab_size());
        d.identical = d.identical && e.identical;
        d.max_logit = std::max(d.max_logit, e.max_logit);
        d.max_p = std::max(d.max_p, e.max_p);
        std::printf("| %s | %s | %d | %s | %.3g | %.3g |\n", std::filesystem::path(path).stem().c_str(),
                    probe.placement().label().c_str(), u, d.identical ? "yes" : "no", d.max_logit, d.max_p);
        std::fflush(stdout);
      }
    }
    if (decode > 0) {
      auto prompts = wsd::read_conversations(prompts_file);
      if (prompts.size() > decode) prompts.resize(decode);
      std::printf("\n| device | kernels | online text = offline | switch index equal | max abs d p_k |\n|---|---|---|---|---|\n");
      for (const bool invariant : {true, false}) decode_table_row(prompts, gpu_layers, invariant);
    }
    return 0;
  } catch (...) {
    return wsd::tools::report_error("wsd-batch-shapes");
  }
}
