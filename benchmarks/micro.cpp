// Micro-benchmarks of the decoder's hot paths (Google Benchmark).
#include <benchmark/benchmark.h>
#include <wsd/wsd.hpp>

#include <random>

#include "../tests/toy_providers.hpp"

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

// The same with the portable (Eigen, compile-time SIMD) kernels, for comparison with the dispatched ones.
void token_probability_portable(benchmark::State& state) {
  const auto logits = random_logits(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    const auto m = wsd::kernels::portable::row_max(logits.data(), logits.size());
    benchmark::DoNotOptimize(std::exp(static_cast<double>(logits[7] - m.value)) /
                             wsd::kernels::portable::sum_exp(logits.data(), logits.size(), m.value));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetLabel(wsd::kernels::use_avx2() ? "dispatched: avx2" : "dispatched: portable");
}
BENCHMARK(token_probability_portable)->Arg(49152)->Arg(262144);

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

}  // namespace

BENCHMARK_MAIN();
