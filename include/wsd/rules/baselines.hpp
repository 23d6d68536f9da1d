#pragma once
// The two baselines as rules: the drafter writes everything it drafts (never), or nothing (immediate).
#include <array>
#include <string>
#include <string_view>

#include "wsd/core/concepts.hpp"
#include "wsd/core/settings.hpp"
#include "wsd/rules/parameters.hpp"

namespace wsd {

// Keep the whole draft, then the strong model continues.
class NeverSwitch {
 public:
  static constexpr std::string_view name = "never";
  static constexpr std::array<RuleParameter, 0> parameters{};
  static NeverSwitch from_arguments(const RuleArguments&) { return {}; }
  void describe(Settings& out) const { out.push_back({"switch_rule", std::string(name)}); }
  void reset() {}
  bool observe(double) { return false; }
  static constexpr bool skips_draft() { return false; }
};

// The strong model answers alone; nothing is drafted.
class ImmediateSwitch {
 public:
  static constexpr std::string_view name = "immediate";
  static constexpr std::array<RuleParameter, 0> parameters{};
  static ImmediateSwitch from_arguments(const RuleArguments&) { return {}; }
  void describe(Settings& out) const { out.push_back({"switch_rule", std::string(name)}); }
  void reset() {}
  bool observe(double) { return true; }
  static constexpr bool skips_draft() { return true; }
};

}  // namespace wsd
