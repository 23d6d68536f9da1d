#pragma once
// Config: the tools' bundle of every setting (the decoder's limits, the rule's name and arguments,
// both sides' sampling and stop strings), with the reference's defaults. It is unpacked into the
// parts in one place, make_decoder (compose/make_decoder.hpp); as JSON: wsd/json/config.hpp.
#include <cstddef>
#include <string>
#include <vector>

#include "wsd/core/errors.hpp"
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

struct Config {
  std::size_t draft_max_tokens = 512;  // the drafter's limit
  std::size_t max_tokens = 2048;       // accepted draft + continuation
  std::size_t chunk = 8;               // weak tokens drafted between two scoring calls (online), >= 1
  Mode mode = Mode::online;
  std::string switch_rule = "window-mean";               // a name from rules/registry.hpp
  RuleArguments switch_args = default_rule_arguments();  // the rules' parameters by name (threshold, window, ...)
  SamplingParams draft{};                                // drafting: greedy by default, as the reference
  SamplingParams continuation{};                         // continuation: greedy, as the reference
  std::vector<std::string> weak_stop_strings = chat_model_stop_strings();
  std::vector<std::string> strong_stop_strings = base_model_stop_strings();
  bool shared_vocabulary = false;  // weak token ids are strong token ids: no re-tokenizing

  Limits limits() const { return {draft_max_tokens, max_tokens, chunk, mode}; }
};

// Sample i of several answers to one conversation: the seeds of both phases moved by i.
inline Config sample_config(Config c, std::size_t i) {
  c.draft.seed += i;
  c.continuation.seed += i;
  return c;
}

// Throws ConfigError naming the field and the value when a value is out of range; the switch rule
// must be one the registry knows unless the caller brings its own rule object (known_rule false).
inline void validate(const Config& c, const std::string& where = "configuration", bool known_rule = true) {
  validate(c.limits(), where);
  if (known_rule && !is_switch_rule(c.switch_rule))
    throw ConfigError(where + ": switch_rule = \"" + c.switch_rule + "\" is not one of " + switch_rule_list());
  for (const auto& [name, value] : c.switch_args.values()) {
    const RuleParameter* p = find_parameter(switch_rule_parameters(), name);
    if (!p) throw ConfigError(where + ": unknown field '" + name + "'");
    RuleArguments::check(*p, value, where);
  }
  validate(c.draft, where + ": draft");
  validate(c.continuation, where + ": continuation");
  for (const auto* list : {&c.weak_stop_strings, &c.strong_stop_strings})
    for (const auto& s : *list)
      if (s.empty())
        throw ConfigError(where + ": " + (list == &c.weak_stop_strings ? "weak_stop_strings" : "strong_stop_strings") +
                          " = \"\" holds an empty stop string");
}

}  // namespace wsd
