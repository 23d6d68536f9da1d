#pragma once
// Config: the tools' bundle of every setting (the decoder's limits, the rule's name and arguments,
// both sides' sampling and stop strings), with the reference's defaults, each setting described
// once (config_fields). It is unpacked into the parts in one place, make_decoder
// (compose/make_decoder.hpp); as JSON: wsd/json/config.hpp.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "wsd/core/errors.hpp"
#include "wsd/core/fields.hpp"
#include "wsd/core/limits.hpp"
#include "wsd/rules/registry.hpp"
#include "wsd/sampling/sampler.hpp"
#include "wsd/text/prompt_templates.hpp"

namespace wsd {

// Every registered rule's parameters at their defaults.
inline RuleArguments default_rule_arguments() {
  RuleArguments out;
  for (const RuleParameter& p : switch_rule_parameters()) out.set(p.name, p.default_value);
  return out;
}

// The limits are Config's own (its base), not a copy: config.max_tokens is config.limits().max_tokens.
struct Config : Limits {
  std::string switch_rule = "window-mean";               // a name from rules/registry.hpp
  RuleArguments switch_args = default_rule_arguments();  // the rules' parameters by name (threshold, window, ...)
  SamplingParams draft{};                                // drafting: greedy by default, as the reference
  SamplingParams continuation{};                         // continuation: greedy, as the reference
  std::vector<std::string> weak_stop_strings = chat_model_stop_strings();
  std::vector<std::string> strong_stop_strings = base_model_stop_strings();
  bool shared_vocabulary = false;  // weak token ids are strong token ids: no re-tokenizing

  Limits& limits() { return *this; }
  const Limits& limits() const { return *this; }
};

namespace detail {
inline constexpr double kTwoTo64 = 18446744073709551616.0;  // the first double a uint64 cannot hold

// A rule parameter as a configuration field (its value in switch_args; a count that is whole is
// read back as one).
inline Field<Config> rule_field(const RuleParameter& p) {
  std::string flag(p.name);
  std::replace(flag.begin(), flag.end(), '_', '-');
  const std::string name(p.name);
  const double fallback = p.default_value;
  const bool whole = p.integer;
  return {.name = name, .flag = flag, .help = std::string(p.help), .kind = whole ? FieldKind::count : FieldKind::real,
          .range = p.range, .per_request = true,
          .get = [name, fallback, whole](const Config& c) -> FieldValue {
            const double v = c.switch_args.contains(name) ? c.switch_args[name] : fallback;
            if (whole && v >= 0 && v == std::floor(v) && v < kTwoTo64) return static_cast<std::uint64_t>(v);
            return v;
          },
          .set = [name](Config& c, const FieldValue& v) { c.switch_args.set(name, detail::as_number(v)); }};
}
}  // namespace detail

// Every setting of a Config described once: the limits, the switch rule and each registered
// rule's parameters, both sides' sampling ("draft.*" and "continuation.*") and stop strings. JSON
// (json/config.hpp), the tools' flags and wsd-server's "wsd" request fields are derived from it.
inline std::span<const Field<Config>> config_fields() {
  static const std::vector<Field<Config>> list = [] {
    using K = FieldKind;
    std::vector<Field<Config>> out =
        nest_fields<Config, Limits>(limits_fields(), [](auto& c) -> auto& { return c.limits(); }, "", "");
    std::vector<std::string> rules;
    for (std::string_view n : switch_rule_names()) rules.emplace_back(n);
    out.push_back(member_field(&Config::switch_rule, {.name = "switch_rule", .flag = "switch", .help = "the switch rule",
                                                      .kind = K::choice, .choices = rules, .per_request = true}));
    for (const RuleParameter& p : switch_rule_parameters()) out.push_back(detail::rule_field(p));
    for (auto& f : nest_fields<Config, SamplingParams>(sampling_fields(), [](auto& c) -> auto& { return c.draft; },
                                                      "draft.", "", "drafting: "))
      out.push_back(std::move(f));
    for (auto& f : nest_fields<Config, SamplingParams>(sampling_fields(), [](auto& c) -> auto& { return c.continuation; },
                                                      "continuation.", "continuation-", "continuation: "))
      out.push_back(std::move(f));
    out.push_back(member_field(&Config::weak_stop_strings,
                               {.name = "weak_stop_strings", .flag = "weak-stop",
                                .help = "the drafter's stop strings (replace the defaults)", .kind = K::texts,
                                .item = "stop string"}));
    out.push_back(member_field(&Config::strong_stop_strings,
                               {.name = "strong_stop_strings", .flag = "strong-stop",
                                .help = "the strong model's stop strings (replace the defaults)", .kind = K::texts,
                                .item = "stop string"}));
    out.push_back(member_field(&Config::shared_vocabulary,
                               {.name = "shared_vocabulary",
                                .help = "weak token ids are strong token ids: no re-tokenizing", .kind = K::boolean}));
    return out;
  }();
  return list;
}

// Sample i of several answers to one conversation: the seeds of both phases moved by i.
inline Config sample_config(Config c, std::size_t i) {
  c.draft.seed += i;
  c.continuation.seed += i;
  return c;
}

// Throws ConfigError naming the field and the value when a value is out of range (every field
// checked against its description); the switch rule must be one the registry knows unless the
// caller brings its own rule object (known_rule false).
inline void validate(const Config& c, const std::string& where = "configuration", bool known_rule = true) {
  for (const auto& [name, value] : c.switch_args.values())
    if (!find_parameter(switch_rule_parameters(), name))
      throw ConfigError(where + ": unknown field '" + name + "'", name);
  for (const auto& f : config_fields())
    if (known_rule || f.name != "switch_rule") check(f, f.get(c), where);
}

}  // namespace wsd
