#pragma once
// A switch rule's parameters as the rule itself describes them (name, kind, default, valid range):
// configurations and command-line flags are derived from these descriptions, and every value is
// checked against them, so a new rule needs no edits anywhere else.
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "wsd/core/errors.hpp"
#include "wsd/text/strings.hpp"

namespace wsd {

struct RuleParameter {
  std::string_view name;  // its configuration field; its flag is --name with '-' for '_'
  std::string_view help;
  bool integer = false;  // a count (a non-negative integer) rather than a real number
  double default_value = 0.0;
  double min = 0.0;  // the valid range: [min, max], each end excluded when *_open
  double max = std::numeric_limits<double>::infinity();
  bool min_open = false;
  bool max_open = false;

  bool accepts(double v) const {
    if (std::isnan(v)) return false;
    if (integer && v != std::floor(v)) return false;
    return (min_open ? v > min : v >= min) && (max_open ? v < max : v <= max);
  }
  // What a value must be, for an error message: "is not in (0, 1]" or "must be at least 1".
  std::string range() const {
    if (std::isinf(max)) return "must be at least " + format_number(min);
    return std::string("is not in ") + (min_open ? "(" : "[") + format_number(min) + ", " + format_number(max) +
           (max_open ? ")" : "]");
  }
  bool operator==(const RuleParameter&) const = default;
};

// Values of rule parameters by name; a parameter not given takes its default.
class RuleArguments {
 public:
  RuleArguments() = default;
  void set(std::string_view name, double value) { values_.insert_or_assign(std::string(name), value); }
  double& operator[](std::string_view name) { return values_[std::string(name)]; }
  double operator[](std::string_view name) const {
    const auto it = values_.find(name);
    if (it == values_.end()) throw ConfigError("no value for the switch rule parameter '" + std::string(name) + "'");
    return it->second;
  }
  bool contains(std::string_view name) const { return values_.find(name) != values_.end(); }
  const std::map<std::string, double, std::less<>>& values() const { return values_; }

  // The value of `p`, checked against its range; `where` names the rule in the error.
  double get(const RuleParameter& p, std::string_view where) const {
    const auto it = values_.find(p.name);
    const double v = it == values_.end() ? p.default_value : it->second;
    check(p, v, where);
    return v;
  }
  std::size_t count(const RuleParameter& p, std::string_view where) const {
    return static_cast<std::size_t>(get(p, where));
  }

  // Throws ConfigError naming the field and the value when v is out of p's range.
  static void check(const RuleParameter& p, double v, std::string_view where) {
    if (!p.accepts(v))
      throw ConfigError(std::string(where) + ": " + std::string(p.name) + " = " + format_number(v) + " " +
                        (p.integer && v == v && v != std::floor(v) ? std::string("is not a whole number") : p.range()));
  }
  bool operator==(const RuleArguments&) const = default;

 private:
  std::map<std::string, double, std::less<>> values_;
};

// The parameter of that name in a list, or nullptr.
inline const RuleParameter* find_parameter(std::span<const RuleParameter> list, std::string_view name) {
  for (const auto& p : list)
    if (p.name == name) return &p;
  return nullptr;
}

}  // namespace wsd
