// wsd-generate: answer conversations with Weak-to-Strong Decoding over two GGUF models.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <wsd/providers/default_models.hpp>
#include <wsd/providers/llama_cpp.hpp>
#include <wsd/wsd.hpp>

#include "tools/config_flags.hpp"

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

// A failed conversation's record: its id and the error, so that --resume retries it.
nlohmann::json error_record(const std::string& id, const wsd::Error& e) {
  return {{"id", id}, {"error", e.what()}, {"exit_code", e.exit_code()}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"wsd-generate: a small aligned model drafts the beginning, a base model takes over"};
  std::string weak_path = wsd::default_weak_model();
  std::string strong_path = wsd::default_strong_model();
  std::string prompt, input, output, shared = "auto";
  int threads = 0, context = 4096;
  bool resume = false;
  app.add_option("--weak", weak_path, "GGUF of the aligned drafter")->capture_default_str();
  app.add_option("--strong", strong_path, "GGUF of the base model")->capture_default_str();
  auto* prompt_opt = app.add_option("--prompt", prompt, "one user message to answer");
  auto* input_opt = app.add_option("--input", input, "conversations, one JSON object per line: {\"id\", \"messages\"}");
  prompt_opt->excludes(input_opt);
  app.add_option("--output", output, "write one JSON record with the trace per conversation");
  app.add_flag("--resume", resume, "skip ids already in --output, retry failed ones, and append the rest");
  wsd::tools::ConfigFlags config_flags(app, wsd::Config{});
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
    wsd::Config cfg = config_flags.resolve();

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

    auto decoder = wsd::make_decoder(weak, strong, cfg);
    std::size_t finished = 0;
    int failure = 0;  // the exit code of the first failed conversation
    for (const auto& c : conversations) {
      if (done.count(c.id)) {
        ++finished;
        continue;
      }
      if (show && conversations.size() > 1) std::cout << "### " << c.id << ": " << c.messages.back().content << "\n";
      bool started_weak = false, started_strong = false;
      wsd::Stream s;
      if (show) {
        s.draft = [&](std::string_view t) {
          if (!started_weak) std::cout << style.weak_on(), started_weak = true;
          std::cout << t << std::flush;
        };
        s.continuation = [&](std::string_view t) {
          if (!started_strong) std::cout << style.strong_on(), started_strong = true;
          std::cout << t << std::flush;
        };
      }
      try {
        const wsd::Result r = decoder.decode(c, s);
        if (show) std::cout << style.off() << "\n-- " << summary(r) << "\n\n" << std::flush;
        else writer->write(wsd::to_json(r));
      } catch (const wsd::Error& e) {  // this conversation fails; the others still run
        if (show) std::cout << style.off() << std::flush;
        std::fprintf(stderr, "%swsd-generate: %s\n", show ? "" : "\n", e.what());
        if (writer) writer->write(error_record(c.id, e));
        if (failure == 0) failure = e.exit_code();
      }
      if (!show)
        progress(++finished, conversations.size(), std::chrono::duration<double>(wsd::Clock::now() - start).count());
    }
    return failure;
  } catch (const CLI::Error& e) {
    return app.exit(e) == 0 ? 0 : wsd::kExitUsage;
  } catch (...) {
    return wsd::report_error("wsd-generate");
  }
}
