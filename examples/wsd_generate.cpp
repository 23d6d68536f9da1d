// wsd-generate: answer conversations with Weak-to-Strong Decoding over two GGUF models.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <wsd/providers/default_models.hpp>
#include <wsd/providers/llama_cpp.hpp>
#include <wsd/wsd.hpp>

namespace {

bool same_vocabulary(const wsd::LlamaProvider& a, const wsd::LlamaProvider& b) {
  if (a.vocab_size() != b.vocab_size()) return false;
  for (wsd::Token t = 0; t < static_cast<wsd::Token>(a.vocab_size()); ++t)
    if (a.token_text(t) != b.token_text(t)) return false;
  return true;
}

struct Style {
  bool colour;
  std::string weak_on() const { return colour ? "\033[36m" : "[weak]"; }
  std::string strong_on() const { return colour ? "\033[0m" : "[strong]"; }
  std::string off() const { return colour ? "\033[0m" : ""; }
};

std::string summary(const wsd::Result& r) {
  char buf[512];
  auto rate = [](std::size_t n, double s) { return s > 0 ? static_cast<double>(n) / s : 0.0; };
  std::snprintf(buf, sizeof buf,
                "switch at %ld (%s) | weak %zu tok %.2f s (%.1f tok/s) | strong %zu read + %zu written %.2f s | "
                "decoder %.4f s | total %.2f s",
                r.accept_index, wsd::to_string(r.reason).c_str(), r.weak_tokens, r.timing.weak_s,
                rate(r.weak_tokens, r.timing.weak_s), r.strong_processed - r.strong_generated, r.strong_generated,
                r.timing.strong_s, r.timing.decoder_s, r.timing.total_s);
  return buf;
}

void progress(std::size_t done, std::size_t total, double seconds) {
  const int width = 30;
  const int filled = total ? static_cast<int>(width * done / total) : width;
  std::fprintf(stderr, "\r[%.*s%*s] %zu/%zu  %.1f s", filled, "==============================", width - filled, "",
               done, total, seconds);
  if (done == total) std::fputc('\n', stderr);
  std::fflush(stderr);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"wsd-generate: a small aligned model drafts the beginning, a base model takes over"};
  std::string weak_path = wsd::default_weak_model();
  std::string strong_path = wsd::default_strong_model();
  std::string prompt, input, output, config_path, mode = "online", shared = "auto";
  int threads = 0, context = 4096;
  bool resume = false;
  wsd::Config cfg;
  app.add_option("--weak", weak_path, "GGUF of the aligned drafter")->capture_default_str();
  app.add_option("--strong", strong_path, "GGUF of the base model")->capture_default_str();
  auto* prompt_opt = app.add_option("--prompt", prompt, "one user message to answer");
  auto* input_opt = app.add_option("--input", input, "conversations, one JSON object per line: {\"id\", \"messages\"}");
  prompt_opt->excludes(input_opt);
  app.add_option("--output", output, "write one JSON record with the trace per conversation");
  app.add_flag("--resume", resume, "skip ids already in --output and append the rest");
  app.add_option("--config", config_path, "JSON configuration file (command-line values override it)");
  auto* mode_opt = app.add_option("--mode", mode, "online (this library) or offline (the reference's three passes)")
                       ->check(CLI::IsMember({"online", "offline"}));
  auto* tau = app.add_option("--threshold", cfg.threshold, "tau: switch when the window mean reaches it");
  auto* win = app.add_option("--window", cfg.window, "w: probabilities per window mean");
  auto* dmax = app.add_option("--draft-max-tokens", cfg.draft_max_tokens, "the drafter's limit");
  auto* tmax = app.add_option("--max-tokens", cfg.max_tokens, "accepted draft + continuation");
  auto* chunk = app.add_option("--chunk", cfg.chunk, "tokens drafted between scoring calls (online)");
  auto* temp = app.add_option("--temperature", cfg.draft.temperature, "drafting temperature (0: greedy)");
  auto* top_p = app.add_option("--top-p", cfg.draft.top_p, "drafting nucleus mass");
  auto* top_k = app.add_option("--top-k", cfg.draft.top_k, "drafting top-k (0: off)");
  auto* seed = app.add_option("--seed", cfg.draft.seed, "drafting random seed");
  auto* rule = app.add_option("--switch", cfg.switch_rule, "window-mean | fixed | never | immediate");
  app.add_option("--shared-vocab", shared, "weak ids are strong ids: auto | yes | no")
      ->check(CLI::IsMember({"auto", "yes", "no"}));
  app.add_option("--threads", threads, "llama.cpp threads (0: all cores)");
  app.add_option("--context", context, "KV cache size of each model, in tokens")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {  // --help exits 0; any usage error exits kExitUsage
    return app.exit(e) == 0 ? 0 : wsd::kExitUsage;
  }

  try {
    if (prompt.empty() && input.empty()) throw CLI::RequiredError("--prompt or --input");
    if (resume && output.empty()) throw CLI::ValidationError("--resume", "needs --output");
    if (!config_path.empty()) {
      const wsd::Config from_file = wsd::read_config(config_path);
      // Values given on the command line win over the file's.
      const wsd::Config cli = cfg;
      cfg = from_file;
      if (tau->count()) cfg.threshold = cli.threshold;
      if (win->count()) cfg.window = cli.window;
      if (dmax->count()) cfg.draft_max_tokens = cli.draft_max_tokens;
      if (tmax->count()) cfg.max_tokens = cli.max_tokens;
      if (chunk->count()) cfg.chunk = cli.chunk;
      if (temp->count()) cfg.draft.temperature = cli.draft.temperature;
      if (top_p->count()) cfg.draft.top_p = cli.draft.top_p;
      if (top_k->count()) cfg.draft.top_k = cli.draft.top_k;
      if (seed->count()) cfg.draft.seed = cli.draft.seed;
      if (rule->count()) cfg.switch_rule = cli.switch_rule;
      if (mode_opt->count()) cfg.mode = mode == "online" ? wsd::Mode::online : wsd::Mode::offline;
    } else {
      cfg.mode = mode == "online" ? wsd::Mode::online : wsd::Mode::offline;
    }
    wsd::validate(cfg, "command line");

    std::vector<wsd::Conversation> conversations;
    if (!input.empty()) {
      conversations = wsd::read_conversations(input);
    } else {
      wsd::Conversation c{"prompt", {{"user", prompt}}};
      wsd::validate_conversation(c);
      conversations.push_back(c);
    }
    std::set<std::string> done;
    if (resume) done = wsd::finished_ids(output);

    wsd::LlamaOptions opts;
    opts.threads = threads;
    opts.context = context;
    wsd::LlamaProvider weak(weak_path, opts);
    wsd::LlamaProvider strong(strong_path, opts);
    cfg.shared_vocabulary = shared == "yes" || (shared == "auto" && same_vocabulary(weak, strong));

    std::unique_ptr<wsd::ResultWriter> writer;
    if (!output.empty()) writer = std::make_unique<wsd::ResultWriter>(output, resume);
    const Style style{isatty(STDOUT_FILENO) != 0};
    const bool show = !writer;
    const auto start = wsd::Clock::now();

    wsd::with_switch_rule(cfg, [&](auto switch_rule) {
      auto decoder = wsd::make_decoder(weak, strong, switch_rule, cfg);
      std::size_t finished = 0;
      for (const auto& c : conversations) {
        if (done.count(c.id)) {
          ++finished;
          continue;
        }
        if (show && conversations.size() > 1) std::cout << "### " << c.id << ": " << c.messages.back().content << "\n";
        bool started_strong = false;
        wsd::Stream s;
        if (show) {
          s.draft = [&](std::string_view t) { std::cout << style.weak_on() << t << std::flush; };
          s.continuation = [&](std::string_view t) {
            if (!started_strong) std::cout << style.strong_on(), started_strong = true;
            std::cout << t << std::flush;
          };
        }
        const wsd::Result r = decoder.decode(c, cfg.mode == wsd::Mode::online ? s : wsd::Stream{});
        if (show) {
          if (cfg.mode == wsd::Mode::offline)  // offline writes nothing until the end
            std::cout << style.weak_on() << r.accepted_text << style.strong_on() << r.continuation_text;
          std::cout << style.off() << "\n-- " << summary(r) << "\n\n" << std::flush;
        } else {
          writer->write(wsd::to_json(r));
          progress(++finished, conversations.size(),
                   std::chrono::duration<double>(wsd::Clock::now() - start).count());
        }
      }
    });
    return 0;
  } catch (const CLI::Error& e) {
    return app.exit(e) == 0 ? 0 : wsd::kExitUsage;
  } catch (...) {
    return wsd::report_error("wsd-generate");
  }
}
