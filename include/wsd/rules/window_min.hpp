#pragma once
// A stricter variant of the paper's rule: switch at the first k where every one of the last w
// probabilities is at least tau (the window's minimum reaches tau), so one unsure token in the
// window is enough to keep drafting.
#include <algorithm>
#include <array>
#include <cstddef>
#include <deque>
#include <string>
#include <string_view>

#include "wsd/core/concepts.hpp"
#include "wsd/core/settings.hpp"
#include "wsd/rules/parameters.hpp"
#include "wsd/rules/window_mean.hpp"

namespace wsd {

class WindowMinSwitch : public WindowParameters<WindowMinSwitch> {
 public:
  static constexpr std::string_view name = "window-min";
  explicit WindowMinSwitch(double threshold = 0.8, std::size_t window = 6) : WindowParameters(threshold, window) {}

  void reset() { recent_.clear(); }
  // The statistic is the window's minimum once the window is full.
  Judgement observe(double p) {
    check_probability(p, name);
    recent_.push_back(p);
    if (recent_.size() > window_) recent_.pop_front();
    if (recent_.size() < window_) return {false, std::nullopt};
    const double lowest = *std::min_element(recent_.begin(), recent_.end());
    return {lowest >= threshold_, lowest};
  }
  static constexpr bool skips_draft() { return false; }

 private:
  std::deque<double> recent_;
};

}  // namespace wsd
