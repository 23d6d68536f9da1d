// wsd-bench: each mode on the same prompts in one run, repeated; JSON, a Markdown table and plots.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>
#include <thread>
#include <wsd/providers/llama/default_models.hpp>
#include <wsd/providers/llama/llama_cpp.hpp>
#if WSD_WITH_HTTP  // libcurl: the strong model on a server (--strong-url)
#include <wsd/pairs/llama_http_pair.hpp>
#endif
#include <wsd/pairs/llama_pair.hpp>
#include <wsd/wsd.hpp>

#include "tools/config_flags.hpp"
#include "tools/pair_flags.hpp"
#include "tools/placement_flags.hpp"
#if WSD_WITH_HTTP
#include "tools/server_flags.hpp"
#endif
#include "tools/version.hpp"

namespace {

using nlohmann::json;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n == 0 ? 0.0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double benchmark_sink = 0.0;

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}  // keeps the probability work of the cost probe from being optimised away

double seconds_since(wsd::Clock::time_point t) { return std::chrono::duration<double>(wsd::Clock::now() - t).count(); }

// One pass of a mode over all prompts.
struct Pass {
  double wall_s = 0, weak_s = 0, strong_s = 0, strong_write_s = 0, decoder_s = 0;
  std::size_t weak_tokens = 0, strong_processed = 0, strong_generated = 0;
  std::vector<wsd::Result> results;
  void add(const wsd::Result& r) {
    weak_s += r.timing.weak_s;
    strong_s += r.timing.strong_s;
    strong_write_s += r.timing.strong_write_s;
    decoder_s += r.timing.decoder_s;
    weak_tokens += r.weak_tokens;
    strong_processed += r.strong_processed;
    strong_generated += r.strong_generated;
    results.push_back(r);
  }
};

// Tokens per second of greedy one-token decoding after `prompt`, through the provider and wsd's sampler.
double provider_tok_s(wsd::LlamaSequence& p, const std::vector<wsd::Token>& prompt, std::size_t n_tokens) {
  p.rollback(0);
  const std::size_t last = prompt.size() - 1, row = 0;
  wsd::LogitsBlock block = wsd::run_now(p.append(prompt, std::span<const std::size_t>(&last, 1)));
  wsd::Sampler greedy;
  const auto t0 = wsd::Clock::now();
  for (std::size_t i = 0; i < n_tokens; ++i) {
    const wsd::Token t = greedy.sample(block.row(block.rows - 1), block.vocab);
    block = wsd::run_now(p.append(std::span<const wsd::Token>(&t, 1), std::span<const std::size_t>(&row, 1)));
  }
  const double tok_s = static_cast<double>(n_tokens) / seconds_since(t0);
  p.rollback(0);
  return tok_s;
}

const char* const kProbePrompt = "\n\n[User]\nTell me about the sea.\n\n[Assistant]\n";

// Tokens per second of greedy one-token decoding: llama_decode directly vs through the provider.
json provider_overhead(wsd::LlamaSequence& p, std::size_t n_tokens, int repeats) {
  const auto prompt = wsd::tokenize_with_bos(p, kProbePrompt);
  std::vector<double> raw, wrapped;
  const auto n_vocab = static_cast<int>(p.vocab_size());
  for (int rep = 0; rep < repeats; ++rep) {
    {  // raw llama.cpp: batch of the prompt, then one token at a time, argmax over llama's logits
      p.rollback(0);
      llama_context* ctx = p.context();
      const std::size_t last = prompt.size() - 1;
      wsd::run_now(p.append(prompt, std::span<const std::size_t>(&last, 1)));  // same prompt state for both loops
      llama_batch b = llama_batch_init(1, 0, 1);
      const auto t0 = wsd::Clock::now();
      const float* logits = llama_get_logits_ith(ctx, -1);
      for (std::size_t i = 0; i < n_tokens; ++i) {
        const auto tok = static_cast<llama_token>(std::max_element(logits, logits + n_vocab) - logits);
        b.n_tokens = 1;
        b.token[0] = tok;
        b.pos[0] = static_cast<llama_pos>(prompt.size() + i);
        b.n_seq_id[0] = 1;
        b.seq_id[0][0] = 0;
        b.logits[0] = true;
        if (llama_decode(ctx, b) != 0) throw wsd::ModelError("raw loop: llama_decode failed");
        logits = llama_get_logits_ith(ctx, -1);
      }
      raw.push_back(static_cast<double>(n_tokens) / seconds_since(t0));
      llama_batch_free(b);
      llama_memory_seq_rm(llama_get_memory(ctx), 0, static_cast<llama_pos>(prompt.size()), -1);
    }
    wrapped.push_back(provider_tok_s(p, prompt, n_tokens));  // the same loop through the provider
  }
  return {{"tokens", n_tokens}, {"raw_tok_s_median", median(raw)}, {"provider_tok_s_median", median(wrapped)},
          {"provider_over_raw", median(wrapped) / median(raw)}};
}

// Milliseconds per token of each model's work, through the providers: the weak model writing one
// token at a time (the strong model's figure is the provider loop of provider_overhead), and the
// strong model reading a draft in chunks with the logits of every row (what the switch rule needs).
json per_token_costs(wsd::LlamaSequence& weak, wsd::LlamaSequence& strong, double strong_tok_s, std::size_t chunk,
                     std::size_t n_tokens, int repeats) {
  std::vector<double> weak_tok_s;
  const auto weak_prompt = wsd::tokenize_with_bos(weak, kProbePrompt);
  for (int rep = 0; rep < repeats; ++rep) weak_tok_s.push_back(provider_tok_s(weak, weak_prompt, n_tokens));
  std::string text;
  while (text.size() < 8 * n_tokens) text += "The sea covers most of the planet and holds most of its water. ";
  auto tokens = wsd::tokenize_with_bos(strong, text);
  tokens.resize(std::min(tokens.size(), n_tokens + 1));  // a one-token prompt, then n_tokens to read
  std::vector<double> read_ms;
  for (int rep = 0; rep < repeats; ++rep) {
    // The first token is read as the prompt (a call of its own, as the decoder reads a prompt:
    // whole, in batch-invariant mode too); the timed chunks are then reads of drafted tokens.
    strong.rollback(0);
    const std::size_t first_row = 0;
    wsd::run_now(strong.append(std::span<const wsd::Token>(tokens.data(), 1), std::span<const std::size_t>(&first_row, 1)));
    const auto t0 = wsd::Clock::now();
    for (std::size_t begin = 1; begin < tokens.size(); begin += chunk) {
      const std::size_t end = std::min(tokens.size(), begin + chunk);
      std::vector<std::size_t> rows(end - begin);
      std::iota(rows.begin(), rows.end(), std::size_t{0});
      const wsd::LogitsBlock block =
          wsd::run_now(strong.append(std::span<const wsd::Token>(tokens.data() + begin, end - begin), rows));
      for (std::size_t r = 0; r < block.rows; ++r) benchmark_sink += wsd::log_sum_exp(block.row(r), block.vocab);
    }
    read_ms.push_back(1000.0 * seconds_since(t0) / static_cast<double>(tokens.size() - 1));
  }
  std::vector<double> prefill_ms;  // reading without rows: a prompt, or the reference's re-read
  for (int rep = 0; rep < repeats; ++rep) {
    strong.rollback(0);
    const std::size_t last = tokens.size() - 1;
    const auto t0 = wsd::Clock::now();
    wsd::run_now(strong.append(tokens, std::span<const std::size_t>(&last, 1)));
    prefill_ms.push_back(1000.0 * seconds_since(t0) / static_cast<double>(tokens.size()));
  }
  strong.rollback(0);
  const double weak_write = 1000.0 / median(weak_tok_s), strong_write = 1000.0 / strong_tok_s, strong_read = median(read_ms);
  return {{"weak_write_ms", weak_write},
          {"strong_write_ms", strong_write},
          {"strong_read_ms", strong_read},
          {"strong_prefill_ms", median(prefill_ms)},
          {"chunk", chunk},
          // Each drafted token costs a weak write and a strong read; strong-only pays one strong write.
          {"draft_token_over_strong_token", (weak_write + strong_read) / strong_write}};
}

// A path as one shell word.
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

void write_plots(const std::string& dir, const json& modes, const std::vector<wsd::Result>& offline) {
  std::ofstream(dir + "/modes.dat") << [&] {
    std::string s;
    for (auto& [name, m] : modes.items()) s += name + " " + std::to_string(m["wall_s_median"].get<double>()) + "\n";
    return s;
  }();
  std::ofstream means(dir + "/window_means.dat");
  for (const auto& r : offline) {
    means << "# " << r.id << "\n";
    for (std::size_t k = 0; k < r.window_means.size(); ++k) means << k << " " << r.window_means[k] << "\n";
    means << "\n\n";
  }
  means.close();
  const double tau = offline.empty() ? 0.8 : wsd::to_json(offline.front().config).value("threshold", 0.8);
  // gnuplot runs in `dir`, so the script names its files without the folder's path.
  std::ofstream gp(dir + "/plots.gp");
  gp << "set terminal pngcairo size 900,500\nset output 'time_per_mode.png'\n"
     << "set title 'Wall time per mode (median)'\nset ylabel 'seconds'\nset style fill solid\nset boxwidth 0.6\n"
     << "set yrange [0:*]\nplot 'modes.dat' using 0:2:xtic(1) with boxes notitle\n"
     << "set output 'window_means.png'\nset title 'Window mean g_k of the base model along the draft'\n"
     << "set xlabel 'drafted strong token k'\nset ylabel 'g_k'\nset yrange [0:1]\nset key off\n"
     << "plot for [i=0:" << (offline.empty() ? 0 : offline.size() - 1)
     << "] 'window_means.dat' index i using 1:2 with lines lw 1, " << tau << " with lines dt 2 lc rgb 'black'\n";
  gp.close();
  if (std::system(("cd " + shell_quote(dir) + " && gnuplot plots.gp 2>gnuplot.log").c_str()) != 0)
    std::cerr << "wsd-bench: gnuplot failed (see " << dir << "/gnuplot.log); the JSON and the table are written\n";
}


// The per-token costs' prediction of a run's model time: weak writes, strong reads of scored
// drafted tokens (every row), other strong reads (prompt, re-read: one row), strong writes.
double predicted_ms(const std::vector<wsd::Result>& results, const json& costs) {
  double ms = 0;
  for (const auto& r : results) {
    const auto scored = r.probs.size();
    const auto read = r.strong_processed - r.strong_generated;
    ms += static_cast<double>(r.weak_tokens) * costs["weak_write_ms"].get<double>() +
          static_cast<double>(scored) * costs["strong_read_ms"].get<double>() +
          static_cast<double>(read - std::min(read, scored)) * costs["strong_prefill_ms"].get<double>() +
          static_cast<double>(r.strong_generated) * costs["strong_write_ms"].get<double>();
  }
  return ms;
}

// Many conversations in flight: answer tokens per second over the prompts with N of them at once,
// for online, the reference's passes batched over the set, and the strong model alone, over the
// pairs make_pairs(N) gives (two llama.cpp models in one kernel mode, or the strong model on a
// server). Records must not depend on N in the batch-invariant mode; `same_as_first_n` counts it.
// With costs, the sequential time the per-token costs predict; with a server, its HTTP requests.
template <class MakePairs>
json throughput(MakePairs make_pairs, const std::vector<wsd::Conversation>& prompts, const wsd::Config& cfg,
                const std::vector<std::size_t>& parallels, int repeats, const json& costs, const std::string& label) {
  json out = json::object();
  std::map<std::string, std::vector<wsd::Result>> first;  // each mode's results at the first N
  for (std::size_t n : parallels) {
    auto pairs = make_pairs(n);
    auto decoders = pairs->decoders(cfg, wsd::samplers(cfg));
    auto alone = pairs->decoders(wsd::ImmediateSwitch{}, cfg, wsd::samplers(cfg));
    for (const std::string mode : {"online", "offline-batched", "strong-only"}) {
      std::vector<double> walls;
      std::vector<wsd::Result> results(prompts.size());
      std::size_t requests = 0;
      for (int rep = 0; rep < repeats; ++rep) {
        auto collect = [&](wsd::Outcome o) {
          if (o.error) std::rethrow_exception(o.error);
          results[o.index] = std::move(*o.result);
        };
        std::size_t requests_before = 0;
        if constexpr (requires { pairs->server(); }) requests_before = pairs->server().requests();
        const auto t0 = wsd::Clock::now();
        if (mode == "online")
          wsd::decode_parallel(std::span(decoders), std::span(prompts), collect);
        else if (mode == "offline-batched")
          wsd::decode_offline_batched(std::span(decoders), std::span(prompts), collect);
        else
          wsd::decode_parallel(std::span(alone), std::span(prompts), collect);
        walls.push_back(seconds_since(t0));
        if constexpr (requires { pairs->server(); }) requests = pairs->server().requests() - requests_before;
      }
      std::size_t tokens = 0, same = 0;
      double decoder_s = 0, total_s = 0;  // the decoder's own time, of the conversations' time
      for (const auto& r : results) tokens += wsd::answer_tokens(r), decoder_s += r.timing.decoder_s, total_s += r.timing.total_s;
      if (!first.count(mode)) first[mode] = results;
      for (std::size_t i = 0; i < results.size(); ++i)
        same += results[i].text == first[mode][i].text && results[i].accept_index == first[mode][i].accept_index;
      const double wall = median(walls);
      json& entry = out[mode][std::to_string(n)];
      entry = {{"wall_s_median", wall},
               {"answer_tokens", tokens},
               {"answer_tok_s", static_cast<double>(tokens) / wall},
               {"same_as_first_n", same},
               {"decoder_share", total_s > 0 ? decoder_s / total_s : 0.0}};
      if (!costs.is_null()) entry["predicted_sequential_s"] = predicted_ms(results, costs) / 1000.0;
      if constexpr (requires { pairs->server(); })
        entry["http_requests_per_answer"] = static_cast<double>(requests) / static_cast<double>(prompts.size());
      std::fprintf(stderr, "throughput %-9s %-15s N=%-2zu %.2f s, %.1f answer tok/s, same as N=%zu on %zu/%zu\n", label.c_str(),
                   mode.c_str(), n, wall, static_cast<double>(tokens) / wall, parallels.front(), same, results.size());
    }
  }
  return out;
}

// The best N of a mode: its entry with the most answer tokens per second.
std::pair<std::string, json> best_of(const json& mode) {
  std::pair<std::string, json> best;
  for (auto& [n, m] : mode.items())
    if (best.first.empty() || m["answer_tok_s"].get<double>() > best.second["answer_tok_s"].get<double>()) best = {n, m};
  return best;
}

void write_throughput_plot(const std::string& dir, const json& sections) {
  std::ofstream dat(dir + "/throughput.dat");
  std::string plot;
  int index = 0;
  for (auto& [kernels, modes] : sections.items())
    for (auto& [mode, by_n] : modes.items()) {
      dat << "# " << kernels << " " << mode << "\n";
      for (auto& [n, m] : by_n.items()) dat << n << " " << m["answer_tok_s"].get<double>() << "\n";
      dat << "\n\n";
      plot += std::string(plot.empty() ? "" : ", ") + "'throughput.dat' index " + std::to_string(index++) +
              " using 1:2 with linespoints title '" + mode + " (" + kernels + ")'";
    }
  dat.close();
  std::ofstream gp(dir + "/throughput.gp");
  gp << "set terminal pngcairo size 900,500\nset output 'throughput.png'\n"
     << "set title 'Answer tokens per second over the prompt set, N conversations in flight'\n"
     << "set xlabel 'N (--parallel)'\nset ylabel 'answer tokens / s'\nset logscale x 2\nset yrange [0:*]\nset key left top\n"
     << "plot " << plot << "\n";
  gp.close();
  if (std::system(("cd " + shell_quote(dir) + " && gnuplot throughput.gp 2>>gnuplot.log").c_str()) != 0)
    std::cerr << "wsd-bench: gnuplot failed on the throughput plot (see " << dir << "/gnuplot.log)\n";
}

using Passes = std::map<std::string, std::vector<Pass>>;

// One mode over all prompts, `repeats` times.
template <class F>
void run_mode(Passes& passes, const std::string& name, const std::vector<wsd::Conversation>& prompts, int repeats,
              F&& decode_one) {
  for (int rep = 0; rep < repeats; ++rep) {
    Pass pass;
    const auto t0 = wsd::Clock::now();
    for (const auto& c : prompts) pass.add(decode_one(c));
    pass.wall_s = seconds_since(t0);
    std::fprintf(stderr, "%-12s pass %d/%d: %.2f s\n", name.c_str(), rep + 1, repeats, pass.wall_s);
    passes[name].push_back(std::move(pass));
  }
}

// One mode's medians and counts, from its passes.
json summarize_mode(const std::string& name, const std::vector<Pass>& list) {
  std::vector<double> wall, weak_s, strong_s, write_s, dec_s;
  for (const auto& p : list) {
    wall.push_back(p.wall_s);
    weak_s.push_back(p.weak_s);
    strong_s.push_back(p.strong_s);
    write_s.push_back(p.strong_write_s);
    dec_s.push_back(p.decoder_s);
  }
  const Pass& p = list.front();
  const bool weak_only = name == "weak-only";
  const double produced = static_cast<double>(weak_only ? p.weak_tokens : p.strong_generated);
  // The answer's length in strong tokens: the kept draft plus the continuation (weak-only: weak tokens).
  std::size_t answer = 0;
  for (const auto& r : p.results)
    answer += weak_only ? r.weak_tokens : wsd::answer_tokens(r);
  json m = {{"wall_s_median", median(wall)},
            {"wall_s", wall},
            {"weak_s_median", median(weak_s)},
            {"strong_s_median", median(strong_s)},
            {"strong_write_s_median", median(write_s)},
            {"decoder_s_median", median(dec_s)},
            {"weak_tokens", p.weak_tokens},
            {"strong_tokens_processed", p.strong_processed},
            {"strong_tokens_generated", p.strong_generated},
            {"tokens_per_s", produced / median(wall)},
            {"answer_tokens", answer},
            {"ms_per_answer_token", answer > 0 ? 1000.0 * median(wall) / static_cast<double>(answer) : 0.0}};
  if (name == "online" || name == "offline") {
    std::vector<double> idx;
    for (const auto& r : p.results) idx.push_back(static_cast<double>(r.accept_index));
    m["switch_index"] = {{"median", median(idx)},
                         {"min", *std::min_element(idx.begin(), idx.end())},
                         {"max", *std::max_element(idx.begin(), idx.end())},
                         {"switched", std::count_if(p.results.begin(), p.results.end(),
                                                    [](const wsd::Result& r) { return r.reason == wsd::DraftEnd::switched; })}};
  }
  return m;
}

// Online over offline on the prompts whose draft switched and on those whose draft was kept whole,
// from per-prompt medians over the passes.
json by_outcome(Passes& passes, std::size_t n_prompts) {
  auto per_prompt = [&](const std::string& mode, std::size_t i) {
    std::vector<double> t;
    for (const auto& p : passes[mode]) t.push_back(p.results[i].timing.total_s);
    return median(t);
  };
  double on_sw = 0, off_sw = 0, on_kept = 0, off_kept = 0;
  for (std::size_t i = 0; i < n_prompts; ++i) {
    const bool sw = passes["offline"][0].results[i].reason == wsd::DraftEnd::switched;
    (sw ? on_sw : on_kept) += per_prompt("online", i);
    (sw ? off_sw : off_kept) += per_prompt("offline", i);
  }
  return {{"switched", {{"online_s", on_sw}, {"offline_s", off_sw}, {"online_over_offline", off_sw > 0 ? on_sw / off_sw : 0.0}}},
          {"kept_whole", {{"online_s", on_kept}, {"offline_s", off_kept}, {"online_over_offline", off_kept > 0 ? on_kept / off_kept : 0.0}}}};
}

void print_report(const json& report, int repeats, std::size_t n_prompts, std::size_t chunk, const std::string& out) {
  const json& modes = report["modes"];
  std::printf("| mode | wall s (median of %d) | weak s | strong s (of it writing) | decoder s | weak tok | strong tok read | strong tok written | tok/s |\n", repeats);
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  for (auto& [name, m] : modes.items())
    std::printf("| %s | %.2f | %.2f | %.2f (%.2f) | %.4f | %zu | %zu | %zu | %.1f |\n", name.c_str(), m["wall_s_median"].get<double>(),
                m["weak_s_median"].get<double>(), m["strong_s_median"].get<double>(),
                m["strong_write_s_median"].get<double>(), m["decoder_s_median"].get<double>(),
                m["weak_tokens"].get<std::size_t>(), m["strong_tokens_processed"].get<std::size_t>(),
                m["strong_tokens_generated"].get<std::size_t>(), m["tokens_per_s"].get<double>());
  for (const char* name : {"offline", "online"}) {
    const json& sw = modes[name]["switch_index"];
    std::printf("\n%s switch index: median %.1f, min %.0f, max %.0f; switched on %d/%zu prompts", name,
                sw["median"].get<double>(), sw["min"].get<double>(), sw["max"].get<double>(), sw["switched"].get<int>(),
                n_prompts);
  }
  std::printf("\n\nonline matches offline on %zu/%zu prompts\n", report["online_matches_offline"].get<std::size_t>(), n_prompts);
  const json& outcome = report["online_over_offline_by_outcome"];
  for (const char* o : {"switched", "kept_whole"})
    if (outcome[o]["offline_s"].get<double>() > 0)
      std::printf("online / offline on the prompts whose draft %s: %.3f (%.2f s / %.2f s)\n",
                  std::string(o) == "switched" ? "switched" : "was kept whole", outcome[o]["online_over_offline"].get<double>(),
                  outcome[o]["online_s"].get<double>(), outcome[o]["offline_s"].get<double>());
  for (auto& [k, v] : report["ratios"].items()) std::printf("%s = %.3f\n", k.c_str(), v.get<double>());
  std::printf("per answer token (answers differ in length): online %.2f ms, offline %.2f ms, strong-only %.2f ms; "
              "online / strong-only %.3f\n",
              modes["online"]["ms_per_answer_token"].get<double>(), modes["offline"]["ms_per_answer_token"].get<double>(),
              modes["strong-only"]["ms_per_answer_token"].get<double>(),
              modes["online"]["ms_per_answer_token"].get<double>() / modes["strong-only"]["ms_per_answer_token"].get<double>());
  const json& costs = report["per_token_costs"];
  std::printf("per token: weak write %.2f ms, strong write %.2f ms, strong read (chunks of %zu, every row) %.2f ms; "
              "a drafted token costs %.2f strong-written tokens\n",
              costs["weak_write_ms"].get<double>(), costs["strong_write_ms"].get<double>(), chunk,
              costs["strong_read_ms"].get<double>(), costs["draft_token_over_strong_token"].get<double>());
  const json& provider = report["provider"];
  std::printf("raw llama.cpp %.1f tok/s, provider %.1f tok/s\nllama.cpp build: %s\ndevices: weak %s, strong %s\n"
              "written: %s/bench.json, time_per_mode.png, window_means.png\n",
              provider["raw_tok_s_median"].get<double>(), provider["provider_tok_s_median"].get<double>(),
              report["llama"]["build"].get<std::string>().c_str(),
              report["models"]["weak"]["device"].get<std::string>().c_str(),
              report["models"]["strong"]["device"].get<std::string>().c_str(), out.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"wsd-bench: offline, online, strong-only and weak-only on the same prompts"};
  std::string input = "examples/prompts.jsonl", out = "bench-out";
  int repeats = 3, threads = 0;
  std::size_t limit = 0;
  bool reference_defaults = false, fast = false, skip_modes = false;
  std::vector<std::size_t> parallels{1, 2, 4, 8};
  std::string throughput_kernels = "both";
  wsd::Config defaults;
  defaults.draft_max_tokens = 128;  // sized for a 2-core machine; --reference-defaults for the paper's 512 / 2048
  defaults.max_tokens = 256;
  wsd::tools::PairFlags models(app);
  app.add_option("--input", input, "prompts (JSONL)")->capture_default_str();
  app.add_option("--out", out, "folder for bench.json and the plots")->capture_default_str();
  app.add_option("--repeats", repeats, "passes per mode (the median is reported)")->check(CLI::Range(1, 100))->capture_default_str();
  app.add_option("--limit", limit, "use only the first N prompts (0: all)");
  wsd::tools::ConfigFlags config_flags(app, defaults);
#if WSD_WITH_HTTP
  wsd::tools::ServerFlags server_flags(app);  // --strong-url: a throughput section with the strong model there
#endif
  app.add_option("--threads", threads);
  app.add_flag("--reference-defaults", reference_defaults, "draft 512 / total 2048, as the reference");
  app.add_flag("--fast-kernels", fast, "llama.cpp's fastest kernels (not batch-invariant)");
  app.add_option("--parallel", parallels, "conversations in flight for the throughput section (0: skip it)")
      ->delimiter(',')->capture_default_str();
  app.add_option("--throughput-kernels", throughput_kernels, "in-process kernel modes of the throughput section: both | invariant | fast | none")
      ->check(CLI::IsMember({"both", "invariant", "fast", "none"}))->capture_default_str();
  app.add_flag("--throughput-only", skip_modes, "only the throughput section (and the per-token costs it needs)");
  wsd::tools::PlacementFlags placement(app);
  wsd::tools::add_version_flag(app, "wsd-bench");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {  // --help exits 0; any usage error exits kExitUsage
    return app.exit(e) == 0 ? 0 : wsd::tools::kExitUsage;
  }
  try {
    parallels.erase(std::remove(parallels.begin(), parallels.end(), std::size_t{0}), parallels.end());
    std::sort(parallels.begin(), parallels.end());
    parallels.erase(std::unique(parallels.begin(), parallels.end()), parallels.end());
    if (skip_modes && parallels.empty()) throw CLI::ValidationError("--throughput-only", "needs --parallel values above 0");
    models.resolve();
    const std::string& weak_path = models.weak();
    const std::string& strong_path = models.strong();
    wsd::Config cfg = config_flags.resolve();
    if (reference_defaults) {
      cfg.draft_max_tokens = 512;
      cfg.max_tokens = 2048;
    }
    auto prompts = wsd::read_conversations(input);
    if (limit > 0 && limit < prompts.size()) prompts.resize(limit);
    std::filesystem::create_directories(out);
    wsd::LlamaOptions opts;
    opts.threads = threads;
    opts.context = static_cast<int>(std::min<std::size_t>(cfg.max_tokens + cfg.draft_max_tokens + 512, 8192));
    opts.batch_invariant = !fast;
    json report, costs, overhead;
    auto weak_model = std::make_shared<const wsd::LlamaModel>(weak_path, placement.weak(opts));
    auto strong_model = std::make_shared<const wsd::LlamaModel>(strong_path, placement.strong(opts));
    cfg.shared_vocabulary = models.shared_vocabulary(cfg.shared_vocabulary, wsd::same_vocabulary(*weak_model, *strong_model));
    {
      wsd::LlamaSequence weak(weak_model), strong(strong_model);
      std::fprintf(stderr, "raw llama.cpp loop vs provider...\n");
      overhead = provider_overhead(strong, 128, repeats);
      std::fprintf(stderr, "per-token costs of the two models...\n");
      costs = per_token_costs(weak, strong, overhead["provider_tok_s_median"].get<double>(), cfg.chunk, 128, repeats);
      report = {{"machine", {{"cores", std::thread::hardware_concurrency()}, {"cpu", cpu_model()},
                             {"row_kernels", wsd::kernels::use_avx2() ? "avx2+fma" : "portable"}}},
                {"llama", {{"build", WSD_LLAMA_BUILD_INFO}, {"system_info", llama_print_system_info()},
                           {"amx_usable", wsd::llama_amx_usable()}}},
                {"models", {{"weak", {{"path", weak_path}, {"name", weak.metadata("general.name")}, {"vocab", weak.vocab_size()},
                                      {"device", weak_model->placement().label()},
                                      {"kernels", weak_model->kernels()}, {"invariant_width", weak_model->invariance().width}, {"invariant_mixes", weak_model->invariance().mixes}}},
                            {"strong", {{"path", strong_path}, {"name", strong.metadata("general.name")}, {"vocab", strong.vocab_size()},
                                        {"device", strong_model->placement().label()},
                                        {"kernels", strong_model->kernels()}, {"invariant_width", strong_model->invariance().width}, {"invariant_mixes", strong_model->invariance().mixes}}}}},
                {"config", wsd::to_json(cfg)},
                {"prompts", prompts.size()},
                {"repeats", repeats},
                {"batch_invariant", !fast},
                {"provider", overhead},
                {"per_token_costs", costs},
                {"ratios", json::object()}};
      if (!skip_modes) {
        // The reference's offline form, wsd's online form, the strong model alone, the weak model alone.
        auto decoder = wsd::make_decoder(weak, strong, cfg, wsd::samplers(cfg));
        auto alone = wsd::make_decoder(weak, strong, wsd::ImmediateSwitch{}, cfg, wsd::samplers(cfg));
        Passes passes;
        run_mode(passes, "offline", prompts, repeats, [&](const wsd::Conversation& c) { return decoder.decode(c, wsd::Mode::offline); });
        run_mode(passes, "online", prompts, repeats, [&](const wsd::Conversation& c) { return decoder.decode(c, wsd::Mode::online); });
        run_mode(passes, "strong-only", prompts, repeats, [&](const wsd::Conversation& c) { return alone.decode(c, wsd::Mode::online); });
        run_mode(passes, "weak-only", prompts, repeats, [&](const wsd::Conversation& c) { return decoder.decode(c, wsd::Mode::weak_only); });

        // Same outputs: online must give the offline reference's texts.
        std::size_t same = 0;
        for (std::size_t i = 0; i < prompts.size(); ++i)
          same += passes["online"][0].results[i].text == passes["offline"][0].results[i].text &&
                  passes["online"][0].results[i].accept_index == passes["offline"][0].results[i].accept_index;
        json modes = json::object();
        for (auto& [name, list] : passes) modes[name] = summarize_mode(name, list);
        const double online_wall = modes["online"]["wall_s_median"];
        report["online_matches_offline"] = same;
        report["modes"] = modes;
        report["online_over_offline_by_outcome"] = by_outcome(passes, prompts.size());
        report["ratios"] = {{"online_over_offline", online_wall / modes["offline"]["wall_s_median"].get<double>()},
                            {"online_over_strong_only", online_wall / modes["strong-only"]["wall_s_median"].get<double>()},
                            {"decoder_share", modes["online"]["decoder_s_median"].get<double>() / online_wall},
                            {"provider_over_raw", overhead["provider_over_raw"]}};
        write_plots(out, modes, passes["offline"][0].results);
      }
    }

    // Many conversations in flight, in each kernel mode asked for.
    if (!parallels.empty()) {
      json sections = json::object();
      for (const bool invariant : {true, false}) {
        if (throughput_kernels == "none" || (invariant && throughput_kernels == "fast") ||
            (!invariant && throughput_kernels == "invariant"))
          continue;
        wsd::LlamaOptions o = opts;
        o.batch_invariant = invariant;
        const bool loaded = invariant == opts.batch_invariant;  // the models above, else loaded with o
        auto weak = loaded ? weak_model : std::make_shared<const wsd::LlamaModel>(weak_path, placement.weak(o));
        auto strong = loaded ? strong_model : std::make_shared<const wsd::LlamaModel>(strong_path, placement.strong(o));
        sections[invariant ? "invariant" : "fast"] = throughput(
            [&](std::size_t n) { return std::make_unique<wsd::LlamaPairSequences>(weak, strong, n); }, prompts, cfg,
            parallels, repeats, costs, invariant ? "invariant" : "fast");
      }
#if WSD_WITH_HTTP
      if (server_flags.remote()) {  // the strong model on the server, the drafter here (batch-invariant)
        const auto server = server_flags.connect();
        report["server"] = {{"url", server->url()}, {"model", server->model()},
                            {"kind", server->kind() == wsd::OpenAIServer::Kind::vllm ? "vllm" : "llama-cpp-python"}};
        sections["server"] = throughput(
            [&](std::size_t n) { return std::make_unique<wsd::LlamaHttpPair>(weak_model, server, n); },
            prompts, cfg, parallels, repeats, json(), "server");
      }
#endif
      report["throughput"] = sections;
      json& ratios = report["ratios"];
      if (sections.contains("invariant")) {
        const json& inv = sections["invariant"];
        const auto [n_on, on] = best_of(inv["online"]);
        const auto [n_off, off] = best_of(inv["offline-batched"]);
        const json& one = inv["online"][std::to_string(parallels.front())];
        ratios["throughput_online_best_over_sequential"] = on["answer_tok_s"].get<double>() / one["answer_tok_s"].get<double>();
        ratios["online_over_batched_offline"] = on["wall_s_median"].get<double>() / off["wall_s_median"].get<double>();
        // The work online cannot avoid over the work of the reference's passes, at the per-token costs.
        ratios["online_over_batched_offline_bound"] =
            on["predicted_sequential_s"].get<double>() / off["predicted_sequential_s"].get<double>();
        ratios["online_best_parallel"] = std::stod(n_on);
        ratios["offline_batched_best_parallel"] = std::stod(n_off);
        ratios["decoder_share_online_best"] = on["decoder_share"];
      }
      write_throughput_plot(out, sections);
    }
    wsd::write_file_atomically(out + "/bench.json", report.dump(2) + "\n");
    if (!skip_modes) print_report(report, repeats, prompts.size(), cfg.chunk, out);
    if (report.contains("throughput")) {
      std::printf("\n| kernels | mode |");
      for (std::size_t n : parallels) std::printf(" N=%zu tok/s |", n);
      std::printf("\n|---|---|");
      for (std::size_t i = 0; i < parallels.size(); ++i) std::printf("---|");
      std::printf("\n");
      for (auto& [kernels, modes] : report["throughput"].items())
        for (auto& [mode, by_n] : modes.items()) {
          std::printf("| %s | %s |", kernels.c_str(), mode.c_str());
          for (std::size_t n : parallels) std::printf(" %.1f |", by_n[std::to_string(n)]["answer_tok_s"].get<double>());
          std::printf("\n");
        }
      for (auto& [k, v] : report["ratios"].items())
        if (k.find("batched") != std::string::npos || k.find("throughput") != std::string::npos || k.find("parallel") != std::string::npos)
          std::printf("%s = %.3f\n", k.c_str(), v.get<double>());
      if (report["throughput"].contains("server")) {
        std::printf("HTTP requests per answer (server):");
        for (auto& [mode, by_n] : report["throughput"]["server"].items())
          std::printf(" %s %.1f", mode.c_str(), by_n[std::to_string(parallels.front())]["http_requests_per_answer"].get<double>());
        std::printf("\n");
      }
      std::printf("written: %s/bench.json, throughput.png\n", out.c_str());
    }
    return 0;
  } catch (const CLI::Error& e) {  // a usage error found after parsing
    return app.exit(e) == 0 ? 0 : wsd::tools::kExitUsage;
  } catch (...) {
    return wsd::tools::report_error("wsd-bench");
  }
}
