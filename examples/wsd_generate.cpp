// wsd-generate: answer conversations with Weak-to-Strong Decoding over two GGUF models.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <wsd/io/benchmark_output.hpp>
#include <wsd/providers/llama/default_models.hpp>
#include <wsd/providers/llama/llama_cpp.hpp>
#include <wsd/wsd.hpp>

#include "tools/config_flags.hpp"
#include "tools/open_pair.hpp"
#include "tools/parallel.hpp"
#include "tools/version.hpp"

namespace {

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
  return {{"id", id}, {"error", e.what()}, {"exit_code", wsd::tools::exit_code(e)}};
}

// The conversations to answer: one --prompt, or a benchmark file in its own format.
wsd::BenchmarkInput read_input(const std::string& prompt, const std::string& input, const wsd::BenchmarkReadOptions& o) {
  if (input.empty()) {
    wsd::Conversation c{"prompt", {{"user", prompt}}};
    wsd::validate_conversation(c);
    return {wsd::InputFormat::wsd, {{c, nlohmann::json::object()}}};
  }
  wsd::BenchmarkInput in = wsd::read_benchmark(input, o);
  if (o.format == wsd::InputFormat::detect && in.format != wsd::InputFormat::wsd)  // a benchmark's own format
    std::fprintf(stderr, "wsd-generate: %s: read as %s (detected; --input-format names it)\n", input.c_str(),
                 wsd::to_string(in.format).c_str());
  return in;
}

// The judges' file, once every conversation (and sample) has an answer in the trace log.
void write_judge_file(wsd::OutputFormat format, const std::string& output, const std::string& log,
                      const std::vector<wsd::BenchmarkItem>& items, std::size_t samples, const std::string& generator) {
  std::map<std::pair<std::string, std::size_t>, std::string> texts;
  for (const auto& r : wsd::finished_records(log)) texts[{r["id"].get<std::string>(), wsd::record_sample(r)}] = r.value("text", "");
  std::vector<std::vector<std::string>> answers(items.size());
  std::size_t missing = 0;
  for (std::size_t i = 0; i < items.size(); ++i)
    for (std::size_t s = 0; s < samples; ++s) {
      const auto it = texts.find({items[i].conversation.id, s});
      if (it == texts.end()) ++missing;
      else answers[i].push_back(it->second);
    }
  if (missing > 0)
    throw wsd::InputError(output + ": not written: " + std::to_string(missing) + " answers failed (see " + log +
                          "); --resume retries them and then writes it");
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  wsd::write_file_atomically(output, wsd::judge_file(format, items, answers, generator, now));
  std::fprintf(stderr, "wsd-generate: wrote %s (%zu conversations x %zu samples)\n", output.c_str(), items.size(), samples);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"wsd-generate: a small aligned model drafts the beginning, a base model takes over"};
  std::string prompt, input, output, input_format = "auto", output_format = "trace", generator;
  wsd::BenchmarkReadOptions read_options;
  int threads = 0, context = 4096;
  std::size_t parallel = 0, samples = 1;
  bool resume = false;
  wsd::tools::PairFlags models(app);
  auto* prompt_opt = app.add_option("--prompt", prompt, "one user message to answer");
  auto* input_opt = app.add_option("--input", input, "conversations: JSONL {\"id\", \"messages\"} or a benchmark's own file");
  prompt_opt->excludes(input_opt);
  std::vector<std::string> formats;
  for (const auto& [format, name] : wsd::input_format_names()) formats.push_back(name);
  app.add_option("--input-format", input_format,
                 "auto | wsd | chat | reference | alpaca_eval | arena_hard | mt_bench | truthfulqa (auto: from the content)")
      ->check(CLI::IsMember(formats))
      ->capture_default_str();
  app.add_option("--turn", read_options.turn, "MT-Bench: the turn to answer (2 needs --previous)")->check(CLI::Range(1, 2));
  app.add_option("--previous", read_options.previous, "MT-Bench turn 2: the output of turn 1 (trace or mt_bench JSONL)");
  app.add_option("--output", output, "the results: a trace JSONL record per answer, or the judges' file (--output-format)");
  app.add_option("--output-format", output_format,
                 "trace | alpaca_eval | arena_hard | mt_bench (judge formats keep the trace in OUTPUT.trace.jsonl)")
      ->check(CLI::IsMember({"trace", "alpaca_eval", "arena_hard", "mt_bench"}))
      ->capture_default_str();
  app.add_option("--generator", generator, "the model name recorded in the judges' files (default: wsd:WEAK+STRONG)");
  app.add_option("--samples", samples, "answers per conversation; sample i draws with seeds + i")->check(CLI::Range(1, 1000));
  app.add_flag("--resume", resume, "skip answers already in --output, retry failed ones, and add the rest");
  app.add_option("--parallel", parallel,
                 "conversations in flight, their model calls batched (default with --output: " +
                     std::to_string(wsd::tools::default_parallel()) + " here; 1 when streaming to the terminal)")
      ->check(CLI::Range(1, 256));
  wsd::tools::ConfigFlags config_flags(app, wsd::Config{});
  wsd::tools::ServerFlags server_flags(app);
  app.add_option("--threads", threads, "llama.cpp threads (0: all cores)");
  app.add_option("--context", context, "KV cache size of each conversation in each model, in tokens")->capture_default_str();
  wsd::tools::PlacementFlags placement(app);
  wsd::tools::add_version_flag(app, "wsd-generate");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {  // --help exits 0; any usage error exits kExitUsage
    return app.exit(e) == 0 ? 0 : wsd::tools::kExitUsage;
  }

  try {
    if (prompt.empty() && input.empty()) throw CLI::RequiredError("--prompt or --input");
    models.resolve();
    if (resume && output.empty()) throw CLI::ValidationError("--resume", "needs --output");
    if (read_options.turn == 2 && read_options.previous.empty())
      throw CLI::ValidationError("--turn 2", "needs --previous: the output file of turn 1");
    const auto judge_format = wsd::output_format_from_string(output_format);
    if (judge_format != wsd::OutputFormat::trace && output.empty())
      throw CLI::ValidationError("--output-format", "needs --output");
    read_options.format = wsd::input_format_from_string(input_format);
    wsd::Config cfg = config_flags.resolve();
    const wsd::BenchmarkInput in = read_input(prompt, input, read_options);
    const auto& items = in.items;

    // The trace log: the output itself, or next to a judges' file (which is written at the end).
    const std::string log = judge_format == wsd::OutputFormat::trace ? output : output + ".trace.jsonl";
    std::set<std::pair<std::string, std::size_t>> done;
    if (resume) done = wsd::finished_samples(log);
    std::vector<std::vector<wsd::Conversation>> todo(samples);  // per sample: what is left
    std::size_t left = 0;
    for (std::size_t s = 0; s < samples; ++s)
      for (const auto& item : items)
        if (!done.count({item.conversation.id, s})) todo[s].push_back(item.conversation), ++left;

    const bool show = output.empty();  // answers go to the terminal, streamed when one at a time
    if (parallel == 0) parallel = show ? 1 : wsd::tools::default_parallel();
    std::size_t widest = 1;
    for (const auto& t : todo) widest = std::max(widest, t.size());
    parallel = std::max<std::size_t>(1, std::min(parallel, widest));

    wsd::LlamaOptions opts;
    opts.threads = threads;
    opts.context = context;
    wsd::tools::OpenedPair opened = wsd::tools::open_pair(models, placement, server_flags, opts, parallel);
    cfg.shared_vocabulary = models.shared_vocabulary(cfg.shared_vocabulary, opened.same_vocabulary);

    std::unique_ptr<wsd::ResultWriter> writer;
    if (!output.empty()) writer = std::make_unique<wsd::ResultWriter>(log, resume);
    const Style style{isatty(STDOUT_FILENO) != 0};
    Progress progress(items.size() * samples, items.size() * samples - left);
    int failure = 0;  // the exit code of the first failed conversation
    std::size_t sample = 0;  // the sample being drawn

    // Each conversation's end, from one thread at a time: its record (or error) whole, at once.
    auto finished = [&](wsd::Outcome o) {
      const wsd::Conversation& c = todo[sample][o.index];
      if (o.result) {
        const wsd::Result& r = *o.result;
        if (show && parallel > 1)
          std::cout << "### " << c.id << ": " << c.messages.back().content << "\n" << r.answer_prefix << style.weak_on()
                    << r.accepted_text << style.strong_on() << r.continuation_text << style.off() << "\n-- " << summary(r)
                    << "\n\n" << std::flush;
        nlohmann::json record = wsd::to_json(r);
        if (samples > 1) record["sample"] = sample;
        if (writer) writer->write(record);
        if (!show) progress.add(wsd::answer_tokens(r));
        return;
      }
      try {
        std::rethrow_exception(o.error);
      } catch (const wsd::Error& e) {  // this conversation fails; the others still run
        std::fprintf(stderr, "%swsd-generate: %s\n", show ? "" : "\n", e.what());
        nlohmann::json record = error_record(c.id, e);
        if (samples > 1) record["sample"] = sample;
        if (writer) writer->write(record);
        if (failure == 0) failure = wsd::tools::exit_code(e);
        if (!show) progress.add(0);
      }
    };

    // The same loop over any pair of sequences: two local models, or the strong one on a server.
    // Sample i draws with the configured seeds + i.
    auto run = [&](auto& pairs) {
      for (sample = 0; sample < samples; ++sample) {
        const wsd::Config sample_cfg = wsd::sample_config(cfg, sample);
        auto decoders = pairs.decoders(sample_cfg, wsd::samplers(sample_cfg));
        const auto& list = todo[sample];
        if (show && parallel == 1) {  // one at a time, streamed as it is written
          for (std::size_t i = 0; i < list.size(); ++i) {
            const auto& c = list[i];
            if (list.size() > 1) std::cout << "### " << c.id << ": " << c.messages.back().content << "\n";
            std::cout << wsd::answer_prefix(c);
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
          wsd::decode_offline_batched(std::span(decoders), std::span(list), finished);
        } else {
          wsd::decode_parallel(std::span(decoders), std::span(list), finished);
        }
      }
    };

    std::visit([&](auto& pairs) { run(*pairs); }, opened.pairs);
    const std::string model_names = opened.weak_name + "+" + opened.strong_name;
    if (judge_format != wsd::OutputFormat::trace)
      write_judge_file(judge_format, output, log, items, samples, generator.empty() ? "wsd:" + model_names : generator);
    return failure;
  } catch (const CLI::Error& e) {
    return app.exit(e) == 0 ? 0 : wsd::tools::kExitUsage;
  } catch (...) {
    return wsd::tools::report_error("wsd-generate");
  }
}
