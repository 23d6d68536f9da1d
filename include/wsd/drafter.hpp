#pragma once
// The weak drafter: an aligned model writing the beginning of the answer, a chunk at a time.
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "wsd/concepts.hpp"
#include "wsd/sampling.hpp"
#include "wsd/stop_strings.hpp"
#include "wsd/text_bridge.hpp"
#include "wsd/timed_provider.hpp"

namespace wsd {

// Drafts with a provider, a prompt template and a sampler, until EOS, a stop string or the limit.
template <LogitsProvider Provider, PromptTemplate Template, TokenSampler Sampler = wsd::Sampler>
class WeakDrafter {
 public:
  WeakDrafter(Provider& provider, Template prompt_template, Sampler sampler = {},
              std::vector<std::string> stop_strings = {})
      : provider_(provider), template_(std::move(prompt_template)), sampler_(std::move(sampler)),
        stops_(std::move(stop_strings)) {}

  void start(const Conversation& conversation, std::size_t max_tokens) {
    provider_.reset_seconds();
    text_.clear();
    tokens_.clear();
    token_ends_.clear();
    generated_ = 0;
    max_tokens_ = max_tokens;
    reason_ = max_tokens == 0 ? DraftEnd::length : DraftEnd::none;
    sampler_.reset();
    provider_.rollback(0);
    const auto prompt = tokenize_with_bos(provider_, template_.render(conversation));
    const std::size_t last = prompt.size() - 1;
    next_ = provider_.append(prompt, std::span<const std::size_t>(&last, 1));
  }

  // Writes up to n more tokens; returns false once the draft has ended.
  bool draft(std::size_t n) {
    for (std::size_t i = 0; i < n && reason_ == DraftEnd::none; ++i) step();
    return reason_ == DraftEnd::none;
  }

  // The draft so far. Settled: all once ended, else the text no stop string can still cut.
  DraftView view() const {
    DraftView v{text_, tokens_, text_.size(), tokens_.size(), ended()};
    if (!v.ended) {
      v.settled_bytes = stops_.safe_prefix(text_);
      while (v.settled_tokens > 0 && token_ends_[v.settled_tokens - 1] > v.settled_bytes) --v.settled_tokens;
    }
    return v;
  }
  bool ended() const { return reason_ != DraftEnd::none; }
  DraftEnd end_reason() const { return reason_; }
  std::size_t generated() const { return generated_; }
  double seconds() const { return provider_.seconds(); }  // inside the provider; sampling is the decoder's

 private:
  void step() {
    if (next_.vocab != provider_.vocab_size())
      throw ProviderError("weak provider returned logits over " + std::to_string(next_.vocab) +
                          " tokens, its vocabulary has " + std::to_string(provider_.vocab_size()));
    const Token t = sampler_.sample(next_.row(next_.rows - 1), next_.vocab);
    ++generated_;
    if (provider_.special_tokens().ends_generation(t)) {
      reason_ = DraftEnd::eos;
      return;
    }
    const std::size_t before = text_.size();
    text_ += provider_.detokenize(std::span<const Token>(&t, 1));
    tokens_.push_back(t);
    token_ends_.push_back(text_.size());
    if (auto pos = stops_.find(text_, before)) {
      text_.resize(*pos);
      while (!tokens_.empty() && token_ends_.back() > *pos) {  // keep only tokens before the stop
        tokens_.pop_back();
        token_ends_.pop_back();
      }
      reason_ = DraftEnd::stop;
      return;
    }
    if (generated_ >= max_tokens_) {
      reason_ = DraftEnd::length;
      return;
    }
    const std::size_t row = 0;
    next_ = provider_.append(std::span<const Token>(&t, 1), std::span<const std::size_t>(&row, 1));
  }

  TimedProvider<Provider> provider_;
  Template template_;
  Sampler sampler_;
  StopStrings stops_;
  std::string text_;
  std::vector<Token> tokens_;
  std::vector<std::size_t> token_ends_;
  LogitsBlock next_;
  std::size_t generated_ = 0;
  std::size_t max_tokens_ = 0;
  DraftEnd reason_ = DraftEnd::none;
};

// A drafter given sampling parameters samples with wsd::Sampler.
template <class Provider, class Template>
WeakDrafter(Provider&, Template, SamplingParams, std::vector<std::string> = {}) -> WeakDrafter<Provider, Template, Sampler>;

}  // namespace wsd
