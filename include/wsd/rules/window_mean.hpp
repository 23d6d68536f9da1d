#pragma once
// The paper's rule: switch at the first k with (p_{k-w+1} * ... * p_k)^(1/w) >= tau.
#include <array>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "wsd/core/concepts.hpp"
#include "wsd/core/errors.hpp"
#include "wsd/core/settings.hpp"
#include "wsd/rules/parameters.hpp"

namespace wsd {

// Checks that p is a probability; names the rule that was given something else.
inline void check_probability(double p, std::string_view rule) {
  if (!(p >= 0.0 && p <= 1.0))
    throw ProviderError(std::string(rule) + " switch: p = " + std::to_string(p) + " is not a probability in [0, 1]");
}

// The threshold and window the window rules share (the reference's defaults: tau 0.8, w 6).
inline constexpr RuleParameter kThreshold{.name = "threshold", .help = "tau: the switch threshold", .default_value = 0.8,
                                        .range = {.min = 0.0, .max = 1.0, .min_open = true}};
inline constexpr RuleParameter kWindow{.name = "window", .help = "w: drafted tokens per window", .integer = true, .default_value = 6.0,
                                     .range = {.min = 1.0}};

// What the window rules (Rule: its name) share: tau and w, checked, built from arguments, described.
template <class Rule>
class WindowParameters {
 public:
  static constexpr std::array parameters{kThreshold, kWindow};
  static Rule from_arguments(const RuleArguments& a) {
    return Rule(a.get(kThreshold, Rule::name), a.count(kWindow, Rule::name));
  }
  void describe(Settings& out) const {
    out.push_back({"switch_rule", std::string(Rule::name)});
    describe_parameters(parameters, std::array{threshold_, static_cast<double>(window_)}, out);
  }

 protected:
  WindowParameters(double threshold, std::size_t window) : threshold_(threshold), window_(window) {
    RuleArguments::check(kThreshold, threshold, Rule::name);
    RuleArguments::check(kWindow, static_cast<double>(window), Rule::name);
  }
  double threshold_;
  std::size_t window_;
};

class WindowMeanSwitch : public WindowParameters<WindowMeanSwitch> {
 public:
  static constexpr std::string_view name = "window-mean";
  explicit WindowMeanSwitch(double threshold = 0.8, std::size_t window = 6) : WindowParameters(threshold, window) {}

  void reset() {
    recent_.clear();
    last_mean_ = 0.0;
  }
  Judgement observe(double p) {
    check_probability(p, name);
    recent_.push_back(p);
    if (recent_.size() > window_) recent_.erase(recent_.begin());
    if (recent_.size() < window_) {
      last_mean_ = 0.0;  // as the reference: no mean before a full window
      return {false, last_mean_};
    }
    double product = 1.0;
    for (double q : recent_) product *= q;
    last_mean_ = std::pow(product, 1.0 / static_cast<double>(window_));
    return {last_mean_ >= threshold_, last_mean_};
  }
  double window_mean() const { return last_mean_; }  // g_k of the last observation
  static constexpr bool skips_draft() { return false; }

 private:
  std::vector<double> recent_;
  double last_mean_ = 0.0;
};

}  // namespace wsd
