// A sampler of your own on the strong side (min-p here), and cancelling a decode from a callback:
// the switch rule still judges the draft by the strong model's own probabilities.
#include <wsd/providers/llama/default_models.hpp>
#include <wsd/providers/llama/llama_cpp.hpp>
#include <wsd/wsd.hpp>

#include <cmath>
#include <iostream>
#include <random>

// Min-p sampling: keep the tokens whose probability is at least min_p times the top one's.
class MinP {
 public:
  MinP(double min_p, std::uint64_t seed) : min_p_(min_p), seed_(seed), rng_(seed) {}
  wsd::Token sample(const float* row, std::size_t vocab) {
    const float top = *std::max_element(row, row + vocab);
    const float floor = top + static_cast<float>(std::log(min_p_));
    weights_.assign(vocab, 0.0);
    for (std::size_t v = 0; v < vocab; ++v)
      if (row[v] >= floor) weights_[v] = std::exp(static_cast<double>(row[v] - top));
    std::discrete_distribution<wsd::Token> pick(weights_.begin(), weights_.end());
    return pick(rng_);
  }
  void reset() { rng_.seed(seed_); }

 private:
  double min_p_;
  std::uint64_t seed_;
  std::mt19937_64 rng_;
  std::vector<double> weights_;
};

int main() {
  try {
    wsd::LlamaProvider weak(wsd::default_weak_model()), strong(wsd::default_strong_model());
    wsd::Config config;
    config.max_tokens = 120;
    auto decoder = wsd::make_decoder(weak, strong, config, wsd::Samplers{wsd::Sampler(config.draft), MinP(0.1, 42)});

    // Cancel once the answer has 200 characters: the callback returns wsd::Flow::stop.
    std::size_t shown = 0;
    auto print = [&](std::string_view text) {
      std::cout << text << std::flush;
      shown += text.size();
      return shown < 200 ? wsd::Flow::go : wsd::Flow::stop;
    };
    const wsd::Result r = decoder.decode({"bread", {{"user", "How do I bake bread?"}}}, {print, print});
    std::cout << "\n-- kept " << r.accept_index + 1 << " drafted tokens; continuation ended by "
              << wsd::to_string(r.continuation_reason) << (r.cancelled() ? " (cancelled by the callback)" : "") << "\n";
    return 0;
  } catch (const wsd::Error& e) {  // a missing model file, a bad provider: one line naming it
    std::cerr << "custom_sampler: " << e.what() << "\n";
    return 1;
  }
}
