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
#include <wsd/providers/llama_http_pair.hpp>
#include <wsd/providers/llama_parallel.hpp>
#include <wsd/wsd.hpp>

#include "tools/config_flags.hpp"
#include "tools/server_flags.hpp"

namespace {

bool same_vocabulary(const wsd::LlamaModel& a, const wsd::LlamaModel& b) {
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

// Conversations done, answer tokens per second and the time left, on one line of stderr.
class Progress {
 public:
  explicit Progress(std::size_t total, std::size_t already) : total_(total), done_(already), start_(wsd::Clock::now()), base_(already) {}
  void add(std::size_t answer_tokens) {
    ++done_;
    tokens_ += answer_tokens;
    const double s = std::chrono::duration<double>(wsd::Clock::now() - start_).count();
    const std::size_t now = done_ - base_;
    const double left = now ? s / static_cast<double>(now) * static_cast<double>(total_ - done_) : 0.0;
    const int width = 30;
    const int filled = total_ ? static_cast<int>(width * done_ / total_) : width;
    std::fprintf(stderr, "\r[%.*s%*s] %zu/%zu  %.1f tok/s  %.0f s, %.0f s left ", filled,
                 "==============================", width - filled, "", done_, total_,
                 s > 0 ? static_cast<double>(tokens_) / s : 0.0, s, left);
    if (done_ == total_) std::fputc('\n', stderr);
    std::fflush(stderr);
  }

 private:
  std::size_t total_, done_;
  wsd::Clock::time_point start_;
  std::size_t base_;
  std::size_t tokens_ = 0;
};

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
  std::size_t parallel = 0;
  bool resume = false;
  app.add_option("--weak", weak_path, "GGUF of the aligned drafter")->capture_default_str();
  app.add_option("--strong", strong_path, "GGUF of the base model")->capture_default_str();
  auto* prompt_opt = app.add_option("--prompt", prompt, "one user message to answer");
  auto* input_opt = app.add_option("--input", input, "conversations, one JSON object per line: {\"id\", \"messages\"}");
  prompt_opt->excludes(input_opt);
  app.add_option("--output", output, "write one JSON record with the trace per conversation");
  app.add_flag("--resume", resume, "skip ids already in --output, retry failed ones, and append the rest");
  app.add_option("--parallel", parallel,
                 "conversations in flight, their model calls batched (default with --output: " +
                     std::to_string(wsd::default_parallel()) + " here; 1 when streaming to the terminal)")
      ->check(CLI::Range(1, 256));
  wsd::tools::ConfigFlags config_flags(app, wsd::Config{});
  wsd::tools::ServerFlags server_flags(app);
  app.add_option("--shared-vocab", shared, "weak ids are strong ids: auto | yes | no")
      ->check(CLI::IsMember({"auto", "yes", "no"}));
  app.add_option("--threads", threads, "llama.cpp threads (0: all cores)");
  app.add_option("--context", context, "KV cache size of each conversation in each model, in tokens")->capture_default_str();
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
    std::vector<wsd::Conversation> todo;
    for (const auto& c : conversations)
      if (!done.count(c.id)) todo.push_back(c);

    const bool show = output.empty();  // answers go to the terminal, streamed when one at a time
    if (parallel == 0) parallel = show ? 1 : wsd::default_parallel();
    parallel = std::max<std::size_t>(1, std::min(parallel, todo.size()));

    wsd::LlamaOptions opts;
    opts.threads = threads;
    opts.context = context;
    auto weak_model = std::make_shared<const wsd::LlamaModel>(weak_path, opts);

    std::unique_ptr<wsd::ResultWriter> writer;
    if (!output.empty()) writer = std::make_unique<wsd::ResultWriter>(output, resume);
    const Style style{isatty(STDOUT_FILENO) != 0};
    Progress progress(conversations.size(), conversations.size() - todo.size());
    int failure = 0;  // the exit code of the first failed conversation

    // Each conversation's end, from one thread at a time: its record (or error) whole, at once.
    auto finished = [&](wsd::Outcome o) {
      const wsd::Conversation& c = todo[o.index];
      if (o.result) {
        const wsd::Result& r = *o.result;
        if (show && parallel > 1)
          std::cout << "### " << c.id << ": " << c.messages.back().content << "\n" << style.weak_on() << r.accepted_text
                    << style.strong_on() << r.continuation_text << style.off() << "\n-- " << summary(r) << "\n\n" << std::flush;
        if (writer) writer->write(wsd::to_json(r));
        if (!show) progress.add(wsd::answer_tokens(r));
        return;
      }
      try {
        std::rethrow_exception(o.error);
      } catch (const wsd::Error& e) {  // this conversation fails; the others still run
        std::fprintf(stderr, "%swsd-generate: %s\n", show ? "" : "\n", e.what());
        if (writer) writer->write(error_record(c.id, e));
        if (failure == 0) failure = e.exit_code();
        if (!show) progress.add(0);
      }
    };

    // The same loop over any pair: two local models, or the strong one on a server.
    auto run = [&](auto& decoders, wsd::BatchScheduler* scheduler) {
    if (show && parallel == 1) {  // one at a time, streamed as it is written
      for (std::size_t i = 0; i < todo.size(); ++i) {
        const auto& c = todo[i];
        if (todo.size() > 1) std::cout << "### " << c.id << ": " << c.messages.back().content << "\n";
        bool started_weak = false, started_strong = false;
        wsd::Stream s;
        s.draft = [&](std::string_view t) {
          if (!started_weak) std::cout << style.weak_on(), started_weak = true;
          std::cout << t << std::flush;
        };
        s.continuation = [&](std::string_view t) {
          if (!started_strong) std::cout << style.strong_on(), started_strong = true;
          std::cout << t << std::flush;
        };
        try {
          const wsd::Result r = decoders[0].decode(c, s);
          std::cout << style.off() << "\n-- " << summary(r) << "\n\n" << std::flush;
        } catch (const wsd::Error& e) {
          std::cout << style.off() << std::flush;
          finished({i, std::nullopt, std::current_exception()});
        }
      }
    } else if (cfg.mode == wsd::Mode::offline && parallel > 1) {  // the reference's passes, each over all
      wsd::decode_offline_batched(std::span(decoders), std::span<const wsd::Conversation>(todo), scheduler, finished);
    } else {
      wsd::decode_parallel(std::span(decoders), std::span<const wsd::Conversation>(todo), scheduler, finished);
    }
    };

    if (server_flags.remote()) {  // the strong model on a server
      wsd::LlamaHttpPair pair(weak_model, server_flags.connect(), parallel, cfg.continuation);
      cfg.shared_vocabulary = shared == "yes";
      auto decoders = pair.decoders(cfg);
      run(decoders, pair.scheduler());
    } else {
      auto strong_model = std::make_shared<const wsd::LlamaModel>(strong_path, opts);
      cfg.shared_vocabulary = shared == "yes" || (shared == "auto" && same_vocabulary(*weak_model, *strong_model));
      wsd::LlamaPairSequences sequences(weak_model, strong_model, parallel);
      auto decoders = sequences.decoders(cfg);
      run(decoders, sequences.scheduler());
    }
    return failure;
  } catch (const CLI::Error& e) {
    return app.exit(e) == 0 ? 0 : wsd::kExitUsage;
  } catch (...) {
    return wsd::report_error("wsd-generate");
  }
}
