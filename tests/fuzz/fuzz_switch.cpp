// Fuzz target: the window-mean switch fed arbitrary probability streams (any doubles, NaN and
// infinities included). Values outside [0, 1] are a ProviderError; otherwise g_k is 0 before a
// full window, in [0, 1] after it, agrees with a log-domain recomputation, the rule fires exactly
// when g_k >= tau, and reset() replays the same decisions.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <wsd/core/errors.hpp>
#include <wsd/rules/window_mean.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t window = 1 + data[0] % 16;
  const double tau = (1 + data[1]) / 256.0;
  std::vector<double> ps;
  for (std::size_t i = 2; i + 8 <= size; i += 8) {
    double p;
    std::memcpy(&p, data + i, 8);
    if (data[i] & 1) p = static_cast<double>(data[i + 1]) / 255.0;  // many plain probabilities too
    ps.push_back(p);
  }
  wsd::WindowMeanSwitch rule(tau, window);
  std::vector<bool> fired;
  for (int pass = 0; pass < 2; ++pass) {
    rule.reset();
    for (std::size_t k = 0; k < ps.size(); ++k) {
      const double p = ps[k];
      bool f;
      try {
        f = rule.observe(p).switch_here;
      } catch (const wsd::ProviderError&) {
        if (p >= 0.0 && p <= 1.0) std::abort();  // a valid probability was refused
        break;
      }
      if (!(p >= 0.0 && p <= 1.0)) std::abort();  // an invalid one was taken
      const double g = rule.window_mean();
      if (k + 1 < window) {
        if (g != 0.0 || f) std::abort();
      } else {
        if (!(g >= 0.0 && g <= 1.0) || f != (g >= tau)) std::abort();
        double log_sum = 0.0;
        for (std::size_t i = k + 1 - window; i <= k; ++i) log_sum += std::log(ps[i]);
        const double expected = std::exp(log_sum / static_cast<double>(window));
        // Compared where the product of the window is a normal double (denormals lose digits).
        if (log_sum > -700.0 && std::fabs(expected - g) > 1e-12 + 1e-9 * expected) std::abort();
      }
      if (pass == 0) fired.push_back(f);
      else if (fired[k] != f) std::abort();
    }
  }
  return 0;
}
