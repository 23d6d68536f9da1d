#pragma once
// The usual composition for tools that choose the rule at run time: an instruct drafter with its
// chat template, a base model with the reference's plain blocks, and the rule a Config names, all
// unpacked from one Config here (and nowhere else).
#include <functional>
#include <utility>
#include <vector>

#include "wsd/compose/config.hpp"
#include "wsd/core/decoder.hpp"
#include "wsd/policies/drafter.hpp"
#include "wsd/policies/full_row_scorer.hpp"
#include "wsd/policies/strong_model.hpp"
#include "wsd/rules/registry.hpp"
#include "wsd/sampling/sampler.hpp"
#include "wsd/text/prompt_templates.hpp"

namespace wsd {

// The samplers of the two sides: any TokenSampler, e.g. min-p or a grammar, with a full-row strong
// provider; a ScoringSequence samples itself and is given the strong sampler's parameters
// (set_sampling), so its sampler must be a wsd::Sampler.
template <TokenSampler WeakSampler = Sampler, TokenSampler StrongSampler = Sampler>
struct Samplers {
  WeakSampler weak;
  StrongSampler strong;
};
template <class WeakSampler, class StrongSampler>  // for compilers without aggregate deduction (Clang < 17)
Samplers(WeakSampler, StrongSampler) -> Samplers<WeakSampler, StrongSampler>;

// The samplers a configuration names: config.draft and config.continuation.
inline Samplers<> samplers(const Config& config) { return {Sampler(config.draft), Sampler(config.continuation)}; }

// What make_decoder takes as the strong model: a full-row provider or a scoring sequence.
template <class S>
concept StrongSide = LogitsProvider<S> || ScoringSequence<S>;

// The strong side as the decoder sees it: a full-row provider through FullRowScorer with the
// sampler, or a ScoringSequence (held by reference) told the sampler's parameters.
template <StrongSide Strong, TokenSampler S>
auto strong_sequence(Strong& strong, S sampler) {
  if constexpr (ScoringSequence<Strong>) {
    static_assert(std::same_as<S, Sampler>,
                  "a ScoringSequence samples itself: its strong sampler must be a wsd::Sampler, whose SamplingParams "
                  "it is given (set_sampling)");
    strong.set_sampling(sampler.params());
    return std::ref(strong);
  } else {
    return FullRowScorer<Strong, S>(strong, std::move(sampler));
  }
}

// The decoder over two models with the given rule object and samplers; the configuration gives
// the limits, stop strings and vocabulary bridge (its switch_rule and arguments are not read).
template <ChatProvider WeakProvider, StrongSide Strong, SwitchPolicy Switch, TokenSampler WS, TokenSampler SS>
auto make_decoder(WeakProvider& weak, Strong& strong, Switch rule, const Config& config, Samplers<WS, SS> samplers) {
  validate(config, "configuration", /*known_rule=*/false);
  return WeakToStrongDecoder(
      WeakDrafter(weak, ChatTemplate<WeakProvider>(weak), std::move(samplers.weak), config.weak_stop_strings),
      StrongModel(strong_sequence(strong, std::move(samplers.strong)), BaseModelTemplate{}, config.strong_stop_strings,
                  config.shared_vocabulary),
      std::move(rule), config.limits());
}

template <ChatProvider WeakProvider, StrongSide Strong, SwitchPolicy Switch>
auto make_decoder(WeakProvider& weak, Strong& strong, Switch rule, const Config& config) {
  return make_decoder(weak, strong, std::move(rule), config, samplers(config));
}

// The decoder the configuration describes: its switch rule (config.switch_rule, with its
// arguments) and samplers; or with samplers of your own.
template <ChatProvider WeakProvider, StrongSide Strong, TokenSampler WS, TokenSampler SS>
auto make_decoder(WeakProvider& weak, Strong& strong, const Config& config, Samplers<WS, SS> samplers) {
  validate(config);
  return make_decoder(weak, strong, AnySwitch(config.switch_rule, config.switch_args), config, std::move(samplers));
}

template <ChatProvider WeakProvider, StrongSide Strong>
auto make_decoder(WeakProvider& weak, Strong& strong, const Config& config = {}) {
  return make_decoder(weak, strong, config, samplers(config));
}

// One decoder per worker of a set of sequence pairs (anything with size(), weak(i), strong(i)):
// make_decoder(weak(i), strong(i), args...) for each i, for wsd::decode_parallel.
template <class Pairs, class... Args>
auto make_decoders(Pairs& pairs, const Args&... args) {
  using Decoder = decltype(make_decoder(pairs.weak(0), pairs.strong(0), args...));
  std::vector<Decoder> out;
  out.reserve(pairs.size());
  for (std::size_t i = 0; i < pairs.size(); ++i) out.push_back(make_decoder(pairs.weak(i), pairs.strong(i), args...));
  return out;
}

}  // namespace wsd
