#pragma once
// A switch rule's parameters as the rule itself describes them (name, kind, default, valid range):
// configurations and command-line flags are derived from these descriptions, and every value is
// checked against them, so a new rule needs no edits anywhere else.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "wsd/core/errors.hpp"
#include "wsd/core/number_range.hpp"
#include "wsd/core/settings.hpp"
#include "wsd/core/strings.hpp"

namespace wsd {

struct RuleParameter {
  std::string_view name;  // its configuration field; its flag is --name with '-' for '_'
  std::string_view help;
  bool integer = false;  // a count (a non-negative integer) rather than a real number
  double default_value = 0.0;
  NumberRange range{.min = 0.0};

  bool accepts(double v) const { return range.accepts(v) && (!integer || v == std::floor(v)); }
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
                        (p.integer && std::isfinite(v) && v != std::floor(v) ? std::string("is not a whole number") : p.range.describe()));
  }
  bool operator==(const RuleArguments&) const = default;

 private:
  std::map<std::string, double, std::less<>> values_;
};

// What the trace records of a rule built with `values` (one per parameter, in their order): each
// parameter's name and value, a count as a whole number.
inline void describe_parameters(std::span<const RuleParameter> params, std::span<const double> values, Settings& out) {
  for (std::size_t i = 0; i < params.size() && i < values.size(); ++i) {
    if (params[i].integer)
      out.push_back({std::string(params[i].name), static_cast<std::uint64_t>(values[i])});
    else
      out.push_back({std::string(params[i].name), values[i]});
  }
}

// The parameter of that name in a list, or nullptr.
inline const RuleParameter* find_parameter(std::span<const RuleParameter> list, std::string_view name) {
  for (const auto& p : list)
    if (p.name == name) return &p;
  return nullptr;
}

}  // namespace wsd
