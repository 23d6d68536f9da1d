#pragma once
// A provider seen through a stopwatch: every call that runs the model or its tokenizer adds its
// time to seconds(), so that the time spent in a model's own code is told apart from the decoder's.
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wsd/concepts.hpp"
#include "wsd/timing.hpp"

namespace wsd {

template <LogitsProvider Provider>
class TimedProvider {
 public:
  explicit TimedProvider(Provider& provider) : provider_(&provider) {}

  double seconds() const { return seconds_; }
  void reset_seconds() { seconds_ = 0.0; }

  std::size_t vocab_size() const { return provider_->vocab_size(); }
  decltype(auto) special_tokens() const { return provider_->special_tokens(); }  // no copy when the provider keeps them
  std::vector<Token> tokenize(std::string_view text) const {
    ScopedTimer timer(seconds_);
    return provider_->tokenize(text);
  }
  decltype(auto) token_text(Token token) const {
    ScopedTimer timer(seconds_);
    return provider_->token_text(token);
  }
  std::string detokenize(std::span<const Token> tokens) const {
    ScopedTimer timer(seconds_);
    return provider_->detokenize(tokens);
  }
  LogitsBlock append(std::span<const Token> tokens, std::span<const std::size_t> rows) {
    ScopedTimer timer(seconds_);
    return provider_->append(tokens, rows);
  }
  void rollback(std::size_t n) {
    ScopedTimer timer(seconds_);
    provider_->rollback(n);
  }
  std::size_t length() const { return provider_->length(); }

 private:
  Provider* provider_;
  mutable double seconds_ = 0.0;
};

}  // namespace wsd
