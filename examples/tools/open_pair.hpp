#pragma once
// The one place the tools open their pair of models: both GGUF files in this process, or the
// drafter here and the base model on an OpenAI-compatible server (--strong-url). wsd-generate and
// wsd-server run the same code on either (std::visit over `pairs`).
#include <filesystem>
#include <memory>
#include <string>
#include <variant>
#include <wsd/json/settings.hpp>
#include <wsd/pairs/llama_http_pair.hpp>
#include <wsd/pairs/llama_pair.hpp>

#include "pair_flags.hpp"
#include "placement_flags.hpp"
#include "server_flags.hpp"

namespace wsd::tools {

struct OpenedPair {
  std::variant<std::unique_ptr<LlamaPairSequences>, std::unique_ptr<LlamaHttpPair>> pairs;
  std::string weak_name, strong_name;      // the files' stems; the server's model
  std::string weak_device, strong_device;  // where each runs ("CPU", "Vulkan0: ...", "the server at URL")
  // How each in-process model computes and batches (its sequences' settings: kernels,
  // physical_batch, sequences_share_batches, device); null for a model on a server.
  nlohmann::json weak_engine, strong_engine;
  bool same_vocabulary = false;            // the tokenizers are the same (never assumed for a server)
  bool remote() const { return pairs.index() == 1; }
};

// What a sequence says of its engine, as JSON.
inline nlohmann::json engine_json(const LlamaSequence& seq) {
  Settings s;
  seq.describe(s);
  return to_json(s);
}

// `parallel` slots for conversations in flight.
inline OpenedPair open_pair(const PairFlags& models, const PlacementFlags& placement, const ServerFlags& server,
                            const LlamaOptions& options, std::size_t parallel) {
  OpenedPair out;
  auto weak = std::make_shared<const LlamaModel>(models.weak(), placement.weak(options));
  out.weak_name = std::filesystem::path(models.weak()).stem().string();
  out.weak_device = weak->placement().label();
  if (server.remote()) {
    auto strong = server.connect();
    out.strong_name = strong->model();
    out.strong_device = "the server at " + strong->url();
    auto pair = std::make_unique<LlamaHttpPair>(std::move(weak), std::move(strong), parallel);
    out.weak_engine = engine_json(pair->weak(0));
    out.pairs = std::move(pair);
  } else {
    auto strong = std::make_shared<const LlamaModel>(models.strong(), placement.strong(options));
    out.strong_name = std::filesystem::path(models.strong()).stem().string();
    out.strong_device = strong->placement().label();
    out.same_vocabulary = same_vocabulary(*weak, *strong);
    auto pair = std::make_unique<LlamaPairSequences>(std::move(weak), std::move(strong), parallel);
    out.weak_engine = engine_json(pair->weak(0));
    out.strong_engine = engine_json(pair->strong(0));
    out.pairs = std::move(pair);
  }
  return out;
}

}  // namespace wsd::tools
