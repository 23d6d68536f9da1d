#pragma once
// A llama.cpp drafter in this process and the strong model on a server: n slots for conversations in
// flight. In an engine loop the drafter's calls are batched in its context and the server's requests
// are out together through the server's HttpEngine meanwhile (the server batches them its own way).
#include <cstddef>
#include <deque>
#include <memory>

#include "wsd/compose/make_decoder.hpp"
#include "wsd/providers/llama/llama_cpp.hpp"
#include "wsd/providers/http/openai_http.hpp"

namespace wsd {

class LlamaHttpPair {
 public:
  // The server samples the continuation as each decoder tells it (make_decoder: the configuration's).
  LlamaHttpPair(std::shared_ptr<const LlamaModel> weak, std::shared_ptr<const OpenAIServer> strong, std::size_t n)
      : weak_context_(std::make_shared<LlamaContext>(std::move(weak), n)),
        server_(std::move(strong)) {
    for (std::size_t i = 0; i < n; ++i) {
      weak_.emplace_back(weak_context_, i);
      strong_.emplace_back(server_);
    }
  }
  LlamaHttpPair(const LlamaHttpPair&) = delete;
  LlamaHttpPair& operator=(const LlamaHttpPair&) = delete;

  std::size_t size() const { return weak_.size(); }
  LlamaSequence& weak(std::size_t i) { return weak_.at(i); }
  OpenAISequence& strong(std::size_t i) { return strong_.at(i); }
  const OpenAIServer& server() const { return *server_; }

  template <class... Args>
  auto decoders(const Args&... args) {
    return make_decoders(*this, args...);
  }

 private:
  std::shared_ptr<LlamaContext> weak_context_;
  std::shared_ptr<const OpenAIServer> server_;
  std::deque<LlamaSequence> weak_;
  std::deque<OpenAISequence> strong_;
};

}  // namespace wsd
