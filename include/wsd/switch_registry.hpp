#pragma once
// The switch rules a configuration can name, keyed by each rule's `name`, and AnySwitch: the rule
// a configuration names, chosen at run time. Adding a rule: its header, and one line in SwitchRules.
#include <array>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>

#include "wsd/concepts.hpp"
#include "wsd/errors.hpp"
#include "wsd/switch_rules.hpp"

namespace wsd {

// A rule the registry can hold: a SwitchPolicy with a name that builds itself from a configuration.
template <class R>
concept RegisteredSwitch = SwitchPolicy<R> && requires { { R::name } -> std::convertible_to<std::string_view>; };

using SwitchRules = std::tuple<WindowMeanSwitch, FixedLengthSwitch, NeverSwitch, ImmediateSwitch>;

namespace detail {
template <class Tuple>
struct SwitchRegistry;
template <RegisteredSwitch... Rules>
struct SwitchRegistry<std::tuple<Rules...>> {
  using Variant = std::variant<Rules...>;
  static constexpr std::array<std::string_view, sizeof...(Rules)> names{Rules::name...};
  template <class C>
  static Variant make(const C& config) {
    Variant out;
    bool found = false;
    ((!found && config.switch_rule == Rules::name ? (out = Rules::from_config(config), found = true) : false), ...);
    if (!found) throw ConfigError("switch_rule = \"" + config.switch_rule + "\" is not one of " + list());
    return out;
  }
  static std::string list() {
    std::string out;
    for (std::string_view n : names) out += (out.empty() ? "" : ", ") + std::string(n);
    return out;
  }
};
using Registry = SwitchRegistry<SwitchRules>;
}  // namespace detail

// The names of the rules a configuration can name, and whether `name` is one of them.
inline constexpr auto switch_rule_names() { return detail::Registry::names; }
inline bool is_switch_rule(std::string_view name) {
  for (std::string_view n : detail::Registry::names)
    if (n == name) return true;
  return false;
}
inline std::string switch_rule_list() { return detail::Registry::list(); }

// The rule a configuration names (config.switch_rule), with its parameters from the configuration.
class AnySwitch {
 public:
  template <class C>
  explicit AnySwitch(const C& config) : rule_(detail::Registry::make(config)) {}
  template <class R>
    requires(!std::same_as<std::remove_cvref_t<R>, AnySwitch> && std::constructible_from<detail::Registry::Variant, R>)
  explicit AnySwitch(R rule) : rule_(std::move(rule)) {}

  void reset() { std::visit([](auto& r) { r.reset(); }, rule_); }
  bool observe(double p) { return std::visit([p](auto& r) { return r.observe(p); }, rule_); }
  double window_mean() const { return std::visit([](const auto& r) { return r.window_mean(); }, rule_); }
  bool skips_draft() const { return std::visit([](const auto& r) { return r.skips_draft(); }, rule_); }
  std::string_view name() const { return std::visit([](const auto& r) { return std::string_view(r.name); }, rule_); }
  void configure(auto& config) const { std::visit([&](const auto& r) { r.configure(config); }, rule_); }

 private:
  detail::Registry::Variant rule_;
};

}  // namespace wsd
