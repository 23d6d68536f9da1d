#pragma once
// A pair of models as a server needs it: submit one conversation with its own settings, cancel
// it, and count a conversation's prompt tokens before taking it; whichever the models are (both
// in this process, or the strong one on an OpenAI-compatible server). One DecodeLoop, on its own
// thread, runs every conversation in flight over the pairs' slots.
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>
#include <vector>

#include "wsd/batch/decode_loop.hpp"
#include "wsd/compose/make_decoder.hpp"
#include "wsd/core/conversation.hpp"
#include "wsd/core/stream.hpp"
#include "wsd/text/bridge.hpp"
#include "wsd/text/prompt_templates.hpp"

namespace wsd::serve {

// What the HTTP side holds: the same calls for any pair of models.
class PairService {
 public:
  using Id = std::size_t;
  using OnDone = std::function<void(Outcome)>;
  virtual ~PairService() = default;

  // The prompt's tokens (BOS included) as each model will read this conversation.
  virtual std::size_t weak_prompt_tokens(const Conversation& c) const = 0;
  virtual std::size_t strong_prompt_tokens(const Conversation& c) const = 0;
  // From any thread: one answer to `c` under `config` (its rule, limits and samplers). The
  // stream's sinks and on_done (once) run on the loop's thread.
  virtual Id submit(Config config, Conversation c, Stream stream, OnDone on_done) = 0;
  virtual void cancel(Id id) = 0;
  virtual void cancel_all() = 0;
};

// The samplers a request's configuration names (wsd::samplers); give PairLoop your own, e.g.
// with logits processors.
struct ConfigSamplers {
  auto operator()(const Config& config) const { return samplers(config); }
};

// The service over `Pairs` (anything with size(), weak(i), strong(i): LlamaPairSequences,
// LlamaHttpPair, your own), its slots run by one DecodeLoop started at once. A decoder is made
// per request over its slot's two sequences, with the samplers `samplers_of(config)` returns (a
// scoring sequence, e.g. a server, is told the continuation's sampling by make_decoder).
template <class Pairs, class SamplersOf = ConfigSamplers>
class PairLoop final : public PairService {
  using Weak = std::remove_reference_t<decltype(std::declval<Pairs&>().weak(0))>;
  using Strong = std::remove_reference_t<decltype(std::declval<Pairs&>().strong(0))>;
  struct Slot {
    std::reference_wrapper<Weak> weak;
    std::reference_wrapper<Strong> strong;
  };

 public:
  explicit PairLoop(std::unique_ptr<Pairs> pairs, SamplersOf samplers_of = {})
      : samplers_of_(std::move(samplers_of)), pairs_(std::move(pairs)), loop_(slots(*pairs_)) {
    loop_.start();
  }

  std::size_t weak_prompt_tokens(const Conversation& c) const override {
    Weak& weak = pairs_->weak(0);  // the vocabulary is the model's: any slot's sequence tokenizes alike
    return tokenize_with_bos(weak, ChatTemplate<Weak>(weak).render(c)).size();
  }
  std::size_t strong_prompt_tokens(const Conversation& c) const override {
    return tokenize_with_bos(pairs_->strong(0), BaseModelTemplate{}.render(c)).size();
  }
  Id submit(Config config, Conversation c, Stream stream, OnDone on_done) override {
    return loop_.submit_job(
        [this, config = std::move(config), c = std::move(c), stream = std::move(stream)](Slot& slot,
                                                                                          std::stop_token stop) {
          return answer(slot, config, samplers_of_, c, stream, std::move(stop));
        },
        std::move(on_done));
  }
  void cancel(Id id) override { loop_.cancel(id); }
  void cancel_all() override { loop_.cancel_all(); }
  Pairs& pairs() { return *pairs_; }

 private:
  static std::vector<Slot> slots(Pairs& pairs) {
    std::vector<Slot> out;
    for (std::size_t i = 0; i < pairs.size(); ++i) out.push_back(Slot{pairs.weak(i), pairs.strong(i)});
    return out;
  }
  // The coroutine's parameters are copies: the conversation lives in its frame while it decodes.
  static Task<std::optional<Result>> answer(Slot& slot, Config config, SamplersOf samplers_of, Conversation c,
                                            Stream stream, std::stop_token stop) {
    stream.cancel = std::move(stop);
    auto decoder = make_decoder(slot.weak.get(), slot.strong.get(), config, samplers_of(config));
    co_return co_await decoder.decode_task(c, std::move(stream));
  }

  SamplersOf samplers_of_;
  std::unique_ptr<Pairs> pairs_;
  DecodeLoop<Slot> loop_;  // declared last: destroyed (its conversations ended) first
};

}  // namespace wsd::serve
