#pragma once
// Handoff criteria: when the strong model takes over from the weak drafter. Each rule has a
// `name`, builds itself from a configuration (from_config) and writes its parameters back into one
// (configure), so that a trace always records the rule that ran; switch_registry.hpp lists them.
#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wsd/concepts.hpp"
#include "wsd/errors.hpp"

namespace wsd {

// The paper's rule: switch at the first k with (p_{k-w+1} * ... * p_k)^(1/w) >= tau.
class WindowMeanSwitch {
 public:
  static constexpr std::string_view name = "window-mean";
  explicit WindowMeanSwitch(double threshold = 0.8, std::size_t window = 6)
      : threshold_(threshold), window_(window) {}
  static WindowMeanSwitch from_config(const auto& config) { return WindowMeanSwitch(config.threshold, config.window); }
  void configure(auto& config) const {
    config.switch_rule = name;
    config.threshold = threshold_;
    config.window = window_;
  }

  void reset() {
    recent_.clear();
    last_mean_ = 0.0;
  }
  bool observe(double p) {
    if (!(p >= 0.0 && p <= 1.0))
      throw ProviderError("window-mean switch: p = " + std::to_string(p) + " is not a probability in [0, 1]");
    recent_.push_back(p);
    if (recent_.size() > window_) recent_.erase(recent_.begin());
    if (recent_.size() < window_) {
      last_mean_ = 0.0;  // as the reference: no mean before a full window
      return false;
    }
    double product = 1.0;
    for (double q : recent_) product *= q;
    last_mean_ = std::pow(product, 1.0 / static_cast<double>(window_));
    return last_mean_ >= threshold_;
  }
  double window_mean() const { return last_mean_; }
  static constexpr bool skips_draft() { return false; }

 private:
  double threshold_;
  std::size_t window_;
  std::vector<double> recent_;
  double last_mean_ = 0.0;
};

// Ablation: keep exactly `length` drafted tokens (fewer if the draft ends sooner).
class FixedLengthSwitch {
 public:
  static constexpr std::string_view name = "fixed";
  explicit FixedLengthSwitch(std::size_t length = 16) : length_(length) {}
  static FixedLengthSwitch from_config(const auto& config) { return FixedLengthSwitch(config.fixed_length); }
  void configure(auto& config) const {
    config.switch_rule = name;
    config.fixed_length = length_;
  }
  void reset() { seen_ = 0; }
  bool observe(double) { return ++seen_ == length_; }
  double window_mean() const { return 0.0; }
  bool skips_draft() const { return length_ == 0; }

 private:
  std::size_t length_;
  std::size_t seen_ = 0;
};

// Baseline: keep the whole draft, then the strong model continues.
class NeverSwitch {
 public:
  static constexpr std::string_view name = "never";
  static NeverSwitch from_config(const auto&) { return {}; }
  void configure(auto& config) const { config.switch_rule = name; }
  void reset() {}
  bool observe(double) { return false; }
  double window_mean() const { return 0.0; }
  static constexpr bool skips_draft() { return false; }
};

// Baseline: the strong model answers alone; nothing is drafted.
class ImmediateSwitch {
 public:
  static constexpr std::string_view name = "immediate";
  static ImmediateSwitch from_config(const auto&) { return {}; }
  void configure(auto& config) const { config.switch_rule = name; }
  void reset() {}
  bool observe(double) { return true; }
  double window_mean() const { return 0.0; }
  static constexpr bool skips_draft() { return true; }
};

// The accept index a policy gives over a complete list of probabilities (spec, step 3):
// the first switch, else n-1; -1 when n = 0 or the policy skips the draft.
template <SwitchPolicy Switch>
long accept_index(Switch policy, std::span<const double> probs) {
  if (policy.skips_draft()) return -1;
  policy.reset();
  for (std::size_t k = 0; k < probs.size(); ++k)
    if (policy.observe(probs[k])) return static_cast<long>(k);
  return static_cast<long>(probs.size()) - 1;
}

}  // namespace wsd
