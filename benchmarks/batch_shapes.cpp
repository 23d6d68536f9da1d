// wsd-batch-shapes: which physical batch widths give a model's logits bit for bit the same however
// its tokens are grouped, on the backend it runs on, with the batch-invariant kernels (wsd's
// exact mode) or the fast ones. For each width u the same tokens are read twice (in one call, and
// in calls of uneven sizes) and every row is compared with a reference read one token at a time;
// with --mix N, N sequences of different lengths then read 16 tokens each in one batch of physical
// batches of u tokens, every row compared with the sequence read alone one token at a time. The
// online decoder equals the offline reference only where the rows it compares are the same bits.
// With --decode N, the default pair then answers N prompts online and offline in both kernel modes,
// and a second table says how far the two forms are apart. Prints Markdown tables; exits 0.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>
#include <wsd/providers/llama/batch_shapes.hpp>
#include <wsd/providers/llama/default_models.hpp>
#include <wsd/providers/llama/llama_cpp.hpp>
#include <wsd/wsd.hpp>

#include "../examples/tools/exit_codes.hpp"

namespace {

// The widths "1-16,63-65,511-512" names.
std::vector<int> parse_widths(const std::vector<std::string>& specs) {
  std::vector<int> out;
  for (const std::string& spec : specs) {
    const auto dash = spec.find('-');
    int first = 0, last = 0;
    try {
      first = std::stoi(spec.substr(0, dash));
      last = dash == std::string::npos ? first : std::stoi(spec.substr(dash + 1));
    } catch (const std::exception&) {
      first = last = 0;
    }
    if (first < 1 || last < first || last > 512)
      throw CLI::ValidationError("--widths", "'" + spec + "' is not a width or a range of widths within 1-512");
    for (int u = first; u <= last; ++u) out.push_back(u);
  }
  return out;
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
  CLI::App app{"wsd-batch-shapes: which physical batch widths give bit-identical logits on a backend"};
  std::vector<std::string> models{wsd::default_weak_model(), wsd::default_strong_model()};
  int gpu_layers = wsd::kAllLayersWhereGpu;
  std::size_t length = 48, mix = 0;
  std::vector<std::string> width_specs{"1-16", "63-65", "127-129", "511-512"};
  std::string kernels = "invariant";
  app.add_option("--model", models, "GGUF files to measure (default: the default pair)");
  app.add_option("--gpu-layers", gpu_layers, "layers on the GPU (-1: all where there is one, 0: the CPU)");
  app.add_option("--widths", width_specs, "physical batch widths to try: widths and ranges within 1-512 (none: no shapes table)")
      ->capture_default_str();
  app.add_option("--tokens", length, "tokens read per run (past 512: the attention's split-KV path)")->check(CLI::Range(8, 4096));
  app.add_option("--mix", mix, "then N sequences of different lengths read 16 tokens each in one batch (0: no mix table)")
      ->check(CLI::Range(0, 256));
  app.add_option("--kernels", kernels, "invariant (exact mode's kernels), fast, or both")
      ->check(CLI::IsMember({"invariant", "fast", "both"}))
      ->capture_default_str();
  std::size_t decode = 0;
  std::string prompts_file = "examples/prompts.jsonl";
  app.add_option("--decode", decode, "then answer this many prompts online and offline in both kernel modes (0: none)");
  app.add_option("--prompts", prompts_file, "the prompts for --decode")->capture_default_str();
  std::vector<int> widths;
  try {
    app.parse(argc, argv);
    if (!(width_specs.size() == 1 && width_specs[0] == "none")) widths = parse_widths(width_specs);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : wsd::tools::kExitUsage;
  }
  try {
    std::vector<bool> modes;
    if (kernels != "fast") modes.push_back(true);
    if (kernels != "invariant") modes.push_back(false);
    const std::string text =
        "The quick brown fox jumps over the lazy dog. In 1905 Einstein published four papers; "
        "the third, on special relativity, begins with Maxwell's electrodynamics and ends with E = mc^2.";
    if (!widths.empty())
      std::printf("| model | device | kernels | physical batch | bit-identical | max abs d logit | max abs d p |\n|---|---|---|---|---|---|---|\n");
    for (const std::string& path : models) {
      for (const bool invariant : modes) {
        if (widths.empty()) break;
        wsd::LlamaOptions options;
        options.gpu_layers = gpu_layers;
        options.context = static_cast<int>(length) + 16;
        options.batch_invariant = invariant;
        const auto model = std::make_shared<const wsd::LlamaModel>(path, options);
        std::vector<wsd::Token> tokens = model->tokenize(text);
        while (tokens.size() < length) tokens.insert(tokens.end(), tokens.begin(), tokens.end());
        tokens.resize(length);
        const std::vector<float> reference = wsd::rows_alone(model, tokens);
        for (const int u : widths) {
          const wsd::RowDifference d = wsd::width_difference(model, tokens, reference, u);
          std::printf("| %s | %s | %s | %d | %s | %.3g | %.3g |\n", std::filesystem::path(path).stem().c_str(),
                      model->placement().label().c_str(), model->kernels().c_str(), u, d.identical ? "yes" : "no",
                      d.max_logit, d.max_p);
          std::fflush(stdout);
        }
      }
    }
    if (mix > 0) {
      std::printf("\n| model | device | kernels | sequences | physical batch | bit-identical | max abs d logit |\n|---|---|---|---|---|---|---|\n");
      for (const std::string& path : models) {
        for (const bool invariant : modes) {
          wsd::LlamaOptions options;
          options.gpu_layers = gpu_layers;
          options.batch_invariant = invariant;
          options.context = static_cast<int>(wsd::SequenceMix::prefix(mix) + wsd::SequenceMix::kRead + 16);
          const auto model = std::make_shared<const wsd::LlamaModel>(path, options);
          const wsd::SequenceMix m(model->tokenize(text), mix);
          const auto alone = wsd::mix_alone(model, m);
          for (const int u : widths.empty() ? std::vector<int>{512} : widths) {
            const wsd::RowDifference d = wsd::mix_difference(model, m, alone, u);
            std::printf("| %s | %s | %s | %zu | %d | %s | %.3g |\n", std::filesystem::path(path).stem().c_str(),
                        model->placement().label().c_str(), model->kernels().c_str(), mix, u, d.identical ? "yes" : "no",
                        d.max_logit);
            std::fflush(stdout);
          }
        }
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
