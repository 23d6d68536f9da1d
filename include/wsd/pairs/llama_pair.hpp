#pragma once
// Two llama.cpp models with n sequences each (one context per model, an engine each): what n
// conversations in flight need. decoders(config) makes one decoder per slot for a wsd::DecodeLoop
// (or wsd::decode_parallel / wsd::decode_offline_batched), whose engine loop batches their calls.
#include <cstddef>
#include <deque>
#include <memory>
#include <vector>

#include "wsd/compose/make_decoder.hpp"
#include "wsd/providers/llama/llama_cpp.hpp"

namespace wsd {

class LlamaPairSequences {
 public:
  LlamaPairSequences(std::shared_ptr<const LlamaModel> weak, std::shared_ptr<const LlamaModel> strong, std::size_t n)
      : weak_context_(std::make_shared<LlamaContext>(std::move(weak), n)),
        strong_context_(std::make_shared<LlamaContext>(std::move(strong), n)) {
    for (std::size_t i = 0; i < n; ++i) {
      weak_.emplace_back(weak_context_, i);
      strong_.emplace_back(strong_context_, i);
    }
  }
  LlamaPairSequences(const LlamaPairSequences&) = delete;
  LlamaPairSequences& operator=(const LlamaPairSequences&) = delete;

  std::size_t size() const { return weak_.size(); }
  LlamaSequence& weak(std::size_t i) { return weak_.at(i); }
  LlamaSequence& strong(std::size_t i) { return strong_.at(i); }
  const LlamaContext& weak_context() const { return *weak_context_; }
  const LlamaContext& strong_context() const { return *strong_context_; }

  // One decoder per worker (wsd::make_decoders).
  template <class... Args>
  auto decoders(const Args&... args) {
    return make_decoders(*this, args...);
  }

 private:
  std::shared_ptr<LlamaContext> weak_context_, strong_context_;
  std::deque<LlamaSequence> weak_, strong_;
};

}  // namespace wsd
