#pragma once
// The usual composition: an instruct drafter with its chat template, a base model with the
// reference's plain blocks, and the switch rule the configuration names.
#include <utility>

#include "wsd/decoder.hpp"
#include "wsd/prompt_templates.hpp"
#include "wsd/switch_rules.hpp"

namespace wsd {

template <ChatProvider WeakProvider, LogitsProvider StrongProvider, SwitchPolicy Switch>
auto make_decoder(WeakProvider& weak, StrongProvider& strong, Switch rule, const Config& config) {
  return WeakToStrongDecoder(
      WeakDrafter(weak, ChatTemplate<WeakProvider>{&weak}, config.draft, config.weak_stop_strings),
      StrongModel(strong, BaseModelTemplate{}, config.continuation, config.strong_stop_strings, config.shared_vocabulary),
      std::move(rule), config);
}

// Calls f with the switch policy config.switch_rule names (one instantiation per policy).
template <class F>
decltype(auto) with_switch_rule(const Config& config, F&& f) {
  if (config.switch_rule == "fixed") return f(FixedLengthSwitch(config.fixed_length));
  if (config.switch_rule == "never") return f(NeverSwitch{});
  if (config.switch_rule == "immediate") return f(ImmediateSwitch{});
  return f(WindowMeanSwitch(config.threshold, config.window));
}

}  // namespace wsd
