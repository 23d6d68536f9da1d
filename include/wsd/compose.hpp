#pragma once
// The usual composition: an instruct drafter with its chat template, a base model with the
// reference's plain blocks, and the switch rule the configuration names, all from one Config.
#include <functional>
#include <utility>

#include "wsd/decoder.hpp"
#include "wsd/drafter.hpp"
#include "wsd/prompt_templates.hpp"
#include "wsd/sampling.hpp"
#include "wsd/scoring.hpp"
#include "wsd/strong_model.hpp"
#include "wsd/switch_registry.hpp"

namespace wsd {

// The samplers of the two sides (the strong one is used only with a full-row provider: a
// ScoringSequence samples with its own). Any TokenSampler, e.g. min-p or a grammar.
template <TokenSampler WeakSampler = Sampler, TokenSampler StrongSampler = Sampler>
struct Samplers {
  WeakSampler weak;
  StrongSampler strong;
};

// The samplers a configuration names: config.draft and config.continuation.
inline Samplers<> samplers(const Config& config) { return {Sampler(config.draft), Sampler(config.continuation)}; }

// The strong side as the decoder sees it: a full-row provider through FullRowScorer, or a
// ScoringSequence used as it is (held by reference).
template <class StrongSide, TokenSampler S>
auto strong_sequence(StrongSide& strong, S sampler) {
  if constexpr (ScoringSequence<StrongSide>) {
    return std::ref(strong);
  } else {
    static_assert(LogitsProvider<StrongSide>, "the strong model must be a LogitsProvider or a ScoringSequence");
    return FullRowScorer<StrongSide, S>(strong, std::move(sampler));
  }
}

// The decoder over two models with the given rule object and samplers; the trace records the
// rule's parameters, whatever the configuration said.
template <ChatProvider WeakProvider, class StrongSide, SwitchPolicy Switch, TokenSampler WS, TokenSampler SS>
  requires(LogitsProvider<StrongSide> || ScoringSequence<StrongSide>)
auto make_decoder(WeakProvider& weak, StrongSide& strong, Switch rule, const Config& config, Samplers<WS, SS> samplers) {
  return WeakToStrongDecoder(
      WeakDrafter(weak, ChatTemplate<WeakProvider>{&weak}, std::move(samplers.weak), config.weak_stop_strings),
      StrongModel(strong_sequence(strong, std::move(samplers.strong)), BaseModelTemplate{}, config.strong_stop_strings,
                  config.shared_vocabulary),
      std::move(rule), config);
}

template <ChatProvider WeakProvider, class StrongSide, SwitchPolicy Switch>
  requires(LogitsProvider<StrongSide> || ScoringSequence<StrongSide>)
auto make_decoder(WeakProvider& weak, StrongSide& strong, Switch rule, const Config& config) {
  return make_decoder(weak, strong, std::move(rule), config, samplers(config));
}

// The decoder the configuration describes: its switch rule (config.switch_rule, with its
// parameters) and samplers; or with samplers of your own.
template <ChatProvider WeakProvider, class StrongSide, TokenSampler WS, TokenSampler SS>
  requires(LogitsProvider<StrongSide> || ScoringSequence<StrongSide>)
auto make_decoder(WeakProvider& weak, StrongSide& strong, const Config& config, Samplers<WS, SS> samplers) {
  return make_decoder(weak, strong, AnySwitch(config), config, std::move(samplers));
}

template <ChatProvider WeakProvider, class StrongSide>
  requires(LogitsProvider<StrongSide> || ScoringSequence<StrongSide>)
auto make_decoder(WeakProvider& weak, StrongSide& strong, const Config& config = {}) {
  return make_decoder(weak, strong, AnySwitch(config), config, samplers(config));
}

}  // namespace wsd
