#pragma once
// The weak drafter: an aligned model writing the beginning of the answer, a chunk at a time. It
// owns its parameters (prompt template, sampler, stop strings) and describes them for the trace.
#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "wsd/core/concepts.hpp"
#include "wsd/core/settings.hpp"
#include "wsd/core/task.hpp"
#include "wsd/sampling/sampler.hpp"
#include "wsd/text/bridge.hpp"
#include "wsd/text/prompt_templates.hpp"
#include "wsd/core/stop_strings.hpp"

namespace wsd {

// Drafts with a provider, a prompt template and a sampler, until EOS, a stop string or the limit.
// Default: the provider's own chat template, greedy, the reference's chat-model stop strings.
template <LogitsProvider Provider, PromptTemplate Template = ChatTemplate<Provider>,
          TokenSampler Sampler = wsd::Sampler>
class WeakDrafter {
 public:
  WeakDrafter(Provider& provider, Template prompt_template, Sampler sampler = {},
              std::vector<std::string> stop_strings = chat_model_stop_strings())
      : provider_(provider),
        template_(std::move(prompt_template)),
        sampler_(std::move(sampler)),
        stops_(std::move(stop_strings)) {}
  explicit WeakDrafter(Provider& provider) requires std::same_as<Template, ChatTemplate<Provider>>
      : WeakDrafter(provider, ChatTemplate<Provider>(provider)) {}

  // Reads the prompt; the row for the first token is then at hand.
  Task<void> start(const Conversation& conversation, std::size_t max_tokens) {
    text_.clear();
    tokens_.clear();
    token_ends_.clear();
    generated_ = 0;
    max_tokens_ = max_tokens;
    reason_ = max_tokens == 0 ? DraftEnd::length : DraftEnd::none;
    sampler_.reset();
    model().rollback(0);
    const auto prompt = tokenize_with_bos(model(), template_.render(conversation));
    const std::size_t last = prompt.size() - 1;
    next_ = co_await appending(model(), prompt, std::span<const std::size_t>(&last, 1));
  }

  // Writes up to n more tokens; returns how many the model generated (an end token included).
  Task<std::size_t> draft(std::size_t n) {
    const std::size_t before = generated_;
    for (std::size_t i = 0; i < n && reason_ == DraftEnd::none; ++i) {
      const Token t = next_token();
      if (reason_ != DraftEnd::none) break;
      const std::size_t row = 0;
      next_ = co_await appending(model(), std::span<const Token>(&t, 1), std::span<const std::size_t>(&row, 1));
    }
    co_return generated_ - before;
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

  // Its parameters: the sampler's as draft.*, the stop strings, and the model's own as weak_model.*.
  void describe(Settings& out) const {
    describe_part(sampler_, out, "draft.");
    out.push_back({"weak_stop_strings", stops_.strings()});
    describe_part(provider_, out, "weak_model.");
  }

 private:
  Provider& model() { return provider_.get(); }

  // Samples the next token from the row at hand and adds it to the draft; ends the draft at an
  // end token, a stop string or the limit (then no row is needed for another token).
  Token next_token() {
    if (next_.vocab != model().vocab_size())
      throw ProviderError("weak provider returned logits over " + std::to_string(next_.vocab) +
                          " tokens, its vocabulary has " + std::to_string(model().vocab_size()));
    const Token t = sampler_.sample(next_.row(next_.rows - 1), next_.vocab);
    ++generated_;
    if (model().special_tokens().ends_generation(t)) {
      reason_ = DraftEnd::eos;
      return t;
    }
    const std::size_t before = text_.size();
    text_ += model().detokenize(std::span<const Token>(&t, 1));
    tokens_.push_back(t);
    token_ends_.push_back(text_.size());
    if (auto pos = stops_.find(text_, before)) {
      text_.resize(*pos);
      while (!tokens_.empty() && token_ends_.back() > *pos) {  // keep only tokens before the stop
        tokens_.pop_back();
        token_ends_.pop_back();
      }
      reason_ = DraftEnd::stop;
      return t;
    }
    if (generated_ >= max_tokens_) reason_ = DraftEnd::length;
    return t;
  }

  std::reference_wrapper<Provider> provider_;
  Template template_;
  Sampler sampler_;
  StopStrings stops_;
  std::string text_;
  std::vector<Token> tokens_;
  std::vector<std::size_t> token_ends_;
  LogitsBlock next_;  // the provider's row for the next token: valid until its next append
  std::size_t generated_ = 0;
  std::size_t max_tokens_ = 0;
  DraftEnd reason_ = DraftEnd::none;
};

// Deduction: WeakDrafter(provider) drafts with its chat template; sampling parameters stand for
// the wsd::Sampler they describe.
template <ChatProvider Provider>
WeakDrafter(Provider&) -> WeakDrafter<Provider, ChatTemplate<Provider>, Sampler>;
template <class Provider, class Template>
WeakDrafter(Provider&, Template) -> WeakDrafter<Provider, Template, Sampler>;
template <class Provider, class Template>
WeakDrafter(Provider&, Template, SamplingParams, std::vector<std::string> = {})
    -> WeakDrafter<Provider, Template, Sampler>;

}  // namespace wsd
