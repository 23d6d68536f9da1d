#pragma once
// The switch rules a configuration can name, and AnySwitch: the rule a configuration names, chosen
// at run time. Adding a rule: its header (a SwitchPolicy with a `name`, its `parameters` and
// from_arguments), and one line in SwitchRules; its configuration fields and flags follow.
#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "wsd/core/concepts.hpp"
#include "wsd/core/errors.hpp"
#include "wsd/rules/baselines.hpp"
#include "wsd/rules/fixed_length.hpp"
#include "wsd/rules/parameters.hpp"
#include "wsd/rules/window_mean.hpp"
#include "wsd/rules/window_min.hpp"

namespace wsd {

// A rule the registry can hold: a SwitchPolicy with a name and parameters that builds itself from
// their values.
template <class R>
concept RegisteredSwitch = SwitchPolicy<R> && requires(const RuleArguments& a) {
  { R::name } -> std::convertible_to<std::string_view>;
  {std::span<const RuleParameter>(R::parameters)};
  { R::from_arguments(a) } -> std::same_as<R>;
};

using SwitchRules = std::tuple<WindowMeanSwitch, FixedLengthSwitch, NeverSwitch, ImmediateSwitch, WindowMinSwitch>;

namespace detail {
template <class Tuple>
struct SwitchRegistry;
template <RegisteredSwitch... Rules>
struct SwitchRegistry<std::tuple<Rules...>> {
  using Variant = std::variant<Rules...>;
  static constexpr std::array<std::string_view, sizeof...(Rules)> names{Rules::name...};

  // Every rule's parameters, each name once: rules that share a name share its description.
  static constexpr auto parameters() {
    constexpr std::size_t total = (std::size_t{0} + ... + Rules::parameters.size());
    std::array<RuleParameter, total> all{};
    std::size_t n = 0;
    auto add = [&](const auto& list) {
      for (const RuleParameter& p : list) {
        bool seen = false;
        for (std::size_t i = 0; i < n; ++i) seen = seen || all[i].name == p.name;
        if (!seen) all[n++] = p;
      }
    };
    (add(Rules::parameters), ...);
    return std::pair{all, n};
  }
  static constexpr bool consistent() {
    bool ok = true;
    auto check = [&](const auto& list) {
      for (const RuleParameter& p : list)
        for (const RuleParameter& q : parameters().first)
          if (q.name == p.name && !(q == p)) ok = false;
    };
    (check(Rules::parameters), ...);
    return ok;
  }
  static_assert(consistent(), "two switch rules describe a parameter of the same name differently");

  static Variant make(std::string_view name, const RuleArguments& args) {
    std::optional<Variant> out;
    auto build_if_named = [&]<class R>(std::type_identity<R>) {
      if (!out && name == R::name) out.emplace(R::from_arguments(args));
    };
    (build_if_named(std::type_identity<Rules>{}), ...);
    if (!out) throw ConfigError("switch_rule = \"" + std::string(name) + "\" is not one of " + list());
    return std::move(*out);
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

// Every registered rule's parameters (each name once): the configuration fields and flags they get.
inline std::span<const RuleParameter> switch_rule_parameters() {
  static constexpr auto all = detail::Registry::parameters();
  return std::span<const RuleParameter>(all.first.data(), all.second);
}

// The rule a configuration names, with its parameters, chosen at run time.
class AnySwitch {
 public:
  AnySwitch(std::string_view name, const RuleArguments& args) : rule_(detail::Registry::make(name, args)) {}
  template <class R>
  requires(!std::same_as<std::remove_cvref_t<R>, AnySwitch> &&
           std::constructible_from<detail::Registry::Variant, R>) explicit AnySwitch(R rule)
      : rule_(std::move(rule)) {}

  void reset() {
    std::visit([](auto& r) { r.reset(); }, rule_);
  }
  Judgement observe(double p) {
    return std::visit([p](auto& r) { return Judgement(r.observe(p)); }, rule_);
  }
  bool skips_draft() const {
    return std::visit([](const auto& r) { return r.skips_draft(); }, rule_);
  }
  std::string_view name() const {
    return std::visit([](const auto& r) { return std::string_view(r.name); }, rule_);
  }
  void describe(Settings& out) const {
    std::visit([&](const auto& r) { r.describe(out); }, rule_);
  }

 private:
  detail::Registry::Variant rule_;
};

}  // namespace wsd
