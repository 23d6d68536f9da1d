// Micro-benchmarks of the decoder's hot paths (Google Benchmark).
#include <benchmark/benchmark.h>
#include <wsd/wsd.hpp>

#include <coroutine>
#include <memory>
#include <random>

#include "../tests/toy_providers.hpp"
#include "eigen_rows.hpp"

namespace {

std::vector<float> random_logits(std::size_t vocab) {
  std::mt19937 rng(1);
  std::normal_distribution<float> n(0.0f, 3.0f);
  std::vector<float> v(vocab);
  for (auto& x : v) x = n(rng);
  return v;
}

// One p_k: log-sum-exp over a SmolLM2-sized (49152) or Gemma-3-sized (262144) vocabulary.
void token_probability(benchmark::State& state) {
  const auto logits = random_logits(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(wsd::token_probability(logits.data(), logits.size(), 7));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(token_probability)->Arg(49152)->Arg(262144);

// The same with the core's scalar fallback and with Eigen (vectorised for the flags this program is
// compiled with), for comparison with the dispatched hand kernels.
template <class RowMax, class SumExp>
void token_probability_with(benchmark::State& state, RowMax row_max, SumExp sum_exp) {
  const auto logits = random_logits(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    const auto m = row_max(logits.data(), logits.size());
    benchmark::DoNotOptimize(std::exp(static_cast<double>(logits[7] - m.value)) / sum_exp(logits.data(), logits.size(), m.value));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetLabel(wsd::kernels::use_avx2() ? "dispatched: avx2" : "dispatched: portable");
}
void token_probability_scalar(benchmark::State& state) {
  token_probability_with(state, wsd::kernels::portable::row_max, wsd::kernels::portable::sum_exp);
}
void token_probability_eigen(benchmark::State& state) {
  token_probability_with(state, wsd::eigen::row_max, wsd::eigen::sum_exp);
}
BENCHMARK(token_probability_scalar)->Arg(49152)->Arg(262144);
BENCHMARK(token_probability_eigen)->Arg(49152)->Arg(262144);

// The row maximum alone (memory-bound): the dispatched hand kernel and Eigen's.
void row_max_dispatched(benchmark::State& state) {
  const auto logits = random_logits(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(wsd::kernels::row_max(logits.data(), logits.size()));
}
void row_max_eigen(benchmark::State& state) {
  const auto logits = random_logits(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(wsd::eigen::row_max(logits.data(), logits.size()));
}
BENCHMARK(row_max_dispatched)->Arg(262144);
BENCHMARK(row_max_eigen)->Arg(262144);

// Each logits processor over one Gemma-sized row (a copy per iteration, as ProcessedSampler makes);
// the copy alone first.
void processor(benchmark::State& state, const wsd::LogitsProcessor& step) {
  const auto logits = random_logits(262144);
  std::vector<float> row;
  std::vector<wsd::Token> written(64);
  for (std::size_t i = 0; i < written.size(); ++i) written[i] = static_cast<wsd::Token>(i * 97);
  for (auto _ : state) {
    row.assign(logits.begin(), logits.end());
    auto v = wsd::view(row.data(), 1, row.size());
    wsd::apply_processors(std::span(&step, 1), v, written);
    benchmark::DoNotOptimize(row.data());
  }
}
BENCHMARK_CAPTURE(processor, copy_only, wsd::LogitBias{});
BENCHMARK_CAPTURE(processor, temperature, wsd::Temperature{0.7});
BENCHMARK_CAPTURE(processor, top_k_40, wsd::TopK{40});
BENCHMARK_CAPTURE(processor, top_p_0_9, wsd::TopP{0.9});
BENCHMARK_CAPTURE(processor, min_p_0_05, wsd::MinP{0.05});
BENCHMARK_CAPTURE(processor, repetition_penalty_64_written, wsd::RepetitionPenalty{1.3});
BENCHMARK_CAPTURE(processor, logit_bias_8, wsd::LogitBias{{{1, 1.f}, {2, 1.f}, {3, 1.f}, {4, 1.f}, {5, 1.f}, {6, 1.f}, {7, 1.f}, {8, 1.f}}});

// A greedy continuation token with the repetition penalty (copy, penalty, argmax) against plain greedy.
void greedy_with_repetition_penalty(benchmark::State& state) {
  const auto logits = random_logits(262144);
  auto s = wsd::ProcessedSampler<>::from({.repetition_penalty = 1.3});
  for (auto _ : state) {
    benchmark::DoNotOptimize(s.sample(logits.data(), logits.size()));
    if (state.iterations() % 256 == 0) s.reset();
  }
}
BENCHMARK(greedy_with_repetition_penalty);

// Greedy choice over the same vocabularies.
void greedy_sample(benchmark::State& state) {
  const auto logits = random_logits(static_cast<std::size_t>(state.range(0)));
  wsd::Sampler s;
  for (auto _ : state) benchmark::DoNotOptimize(s.sample(logits.data(), logits.size()));
}
BENCHMARK(greedy_sample)->Arg(49152)->Arg(262144);

// One switch-rule update with the paper's window.
void window_mean_update(benchmark::State& state) {
  wsd::WindowMeanSwitch rule(0.99, 6);
  double p = 0.5;
  for (auto _ : state) {
    benchmark::DoNotOptimize(rule.observe(p));
    p = p > 0.9 ? 0.5 : p + 0.01;
  }
}
BENCHMARK(window_mean_update);

// Re-tokenizing prompt + a partial draft of N characters for the strong model.
void text_bridge(benchmark::State& state) {
  toy::ToyProvider strong(toy::Vocabulary::words(), {});
  const wsd::StrongPrompt prompt{"\n\n[User]\nhello\n\n[Assistant]\n",
                                 wsd::tokenize_with_bos(strong, "\n\n[User]\nhello\n\n[Assistant]\n")};
  std::string draft;
  while (draft.size() < static_cast<std::size_t>(state.range(0))) draft += "the oat tea is hot ";
  for (auto _ : state) benchmark::DoNotOptimize(wsd::bridge_text(strong, prompt, draft, false));
}
BENCHMARK(text_bridge)->Arg(200)->Arg(2000);

// The engine loop's own cost per batched call: N coroutines each awaiting calls of an engine that
// does nothing, so the time is the loop's (post, gather, run_batch, resume) and the coroutines'
// frames. Items: calls; the time per item is the overhead per batched call.
class NothingEngine : public wsd::Engine {
 protected:
  void run(std::span<wsd::EngineCall* const>) override {}
};
struct NothingCall {  // with a constructor: GCC 12 destroys a co_awaited aggregate temporary twice
  explicit NothingCall(std::shared_ptr<wsd::Engine> e) : engine(std::move(e)) {}
  std::shared_ptr<wsd::Engine> engine;
  wsd::EngineCall call{};
  bool await_ready() const noexcept { return false; }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    return wsd::post_or_run(engine, call, h);
  }
  void await_resume() const noexcept {}
};
wsd::Task<void> calls(std::shared_ptr<wsd::Engine> engine, int n) {
  for (int i = 0; i < n; ++i) co_await NothingCall(engine);
}
void engine_loop_overhead(benchmark::State& state) {
  const auto conversations = static_cast<int>(state.range(0));
  const int per_conversation = 1000;
  auto engine = std::make_shared<NothingEngine>();
  for (auto _ : state) {
    wsd::EngineLoop loop;
    for (int i = 0; i < conversations; ++i) loop.spawn(calls(engine, per_conversation));
    loop.run_until_idle();
  }
  state.SetItemsProcessed(state.iterations() * conversations * per_conversation);
  state.SetLabel("time per item = loop overhead per batched call");
}
BENCHMARK(engine_loop_overhead)->Arg(1)->Arg(8)->Arg(64);

}  // namespace

BENCHMARK_MAIN();
