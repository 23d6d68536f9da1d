#pragma once
// Where each model's layers go, as flags derived from the library's descriptions of LlamaOptions'
// placement settings: --NAME for both models, --weak-NAME and --strong-NAME for one (the latter
// win), e.g. --gpu-layers 0 --strong-gpu-layers -1 --split-mode row --no-kv-offload.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <wsd/providers/llama/options_json.hpp>

#include "field_flags.hpp"

namespace wsd::tools {

class PlacementFlags {
 public:
  explicit PlacementFlags(CLI::App& app) {
    const LlamaOptions defaults;
    for (const Field<LlamaOptions>& f : llama_placement_fields()) {
      add_field_flag(app, f, "", "both models: " + f.help, defaults, both_);
      add_field_flag(app, f, "weak-", "the drafter: " + f.help, defaults, weak_);
      add_field_flag(app, f, "strong-", "the base model: " + f.help, defaults, strong_);
    }
  }

  LlamaOptions weak(const LlamaOptions& base) const { return placed(base, weak_); }
  LlamaOptions strong(const LlamaOptions& base) const { return placed(base, strong_); }

 private:
  // The flags for both models, then the one model's own.
  LlamaOptions placed(const LlamaOptions& base, const nlohmann::json& own) const {
    return with_placement(with_placement(base, both_, "command line"), own, "command line");
  }

  nlohmann::json both_ = nlohmann::json::object(), weak_ = nlohmann::json::object(), strong_ = nlohmann::json::object();
};

}  // namespace wsd::tools
