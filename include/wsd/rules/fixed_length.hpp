#pragma once
// Ablation: keep exactly `length` drafted tokens (fewer if the draft ends sooner).
#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "wsd/core/concepts.hpp"
#include "wsd/core/settings.hpp"
#include "wsd/rules/parameters.hpp"

namespace wsd {

class FixedLengthSwitch {
 public:
  static constexpr std::string_view name = "fixed";
  static constexpr RuleParameter kLength{.name = "fixed_length", .help = "drafted tokens kept by the fixed rule", .integer = true,
                                             .default_value = 16.0, .range = {.min = 0.0}};
  static constexpr std::array parameters{kLength};

  explicit FixedLengthSwitch(std::size_t length = 16) : length_(length) {}
  static FixedLengthSwitch from_arguments(const RuleArguments& a) { return FixedLengthSwitch(a.count(kLength, name)); }
  void describe(Settings& out) const {
    out.push_back({"switch_rule", std::string(name)});
    describe_parameters(parameters, std::array{static_cast<double>(length_)}, out);
  }

  void reset() { seen_ = 0; }
  bool observe(double) { return ++seen_ == length_; }
  bool skips_draft() const { return length_ == 0; }

 private:
  std::size_t length_;
  std::size_t seen_ = 0;
};

}  // namespace wsd
