#pragma once
// Where each model's layers go, as flags derived from the library's descriptions of LlamaOptions'
// placement settings: --NAME for both models, --weak-NAME and --strong-NAME for one (the latter
// win), e.g. --gpu-layers 0 --strong-gpu-layers -1 --split-mode row --no-kv-offload.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>
#include <wsd/providers/llama/options_json.hpp>

namespace wsd::tools {

class PlacementFlags {
 public:
  explicit PlacementFlags(CLI::App& app) {
    for (const LlamaOptionDescription& d : llama_placement_options()) {
      add(app, d, "", "both models: ", both_);
      add(app, d, "weak-", "the drafter: ", weak_);
      add(app, d, "strong-", "the base model: ", strong_);
    }
  }

  LlamaOptions weak(const LlamaOptions& base) const { return placed(base, weak_); }
  LlamaOptions strong(const LlamaOptions& base) const { return placed(base, strong_); }

 private:
  // The flags for both models, then the one model's own.
  LlamaOptions placed(const LlamaOptions& base, const nlohmann::json& own) const {
    return with_placement(with_placement(base, both_, "command line"), own, "command line");
  }

  void add(CLI::App& app, const LlamaOptionDescription& d, const std::string& prefix, const std::string& whose,
           nlohmann::json& patch) {
    using Kind = LlamaOptionDescription::Kind;
    std::string dashed(d.name);
    std::replace(dashed.begin(), dashed.end(), '_', '-');
    const std::string field(d.name), help = whose + std::string(d.help);
    nlohmann::json* target = &patch;
    switch (d.kind) {
      case Kind::integer:
        app.add_option_function<int>("--" + prefix + dashed, [target, field](int v) { (*target)[field] = v; }, help);
        break;
      case Kind::shares:
        app.add_option_function<std::vector<double>>(
               "--" + prefix + dashed, [target, field](const std::vector<double>& v) { (*target)[field] = v; }, help)
            ->delimiter(',');
        break;
      case Kind::choice: {
        std::vector<std::string> choices(d.choices.begin(), d.choices.end());
        app.add_option_function<std::string>(
               "--" + prefix + dashed, [target, field](const std::string& v) { (*target)[field] = v; }, help)
            ->check(CLI::IsMember(choices));
        break;
      }
      case Kind::switch_off:
        app.add_flag_callback("--" + prefix + "no-" + dashed, [target, field] { (*target)[field] = false; },
                              whose + "off: " + help.substr(whose.size()));
        break;
    }
  }

  nlohmann::json both_ = nlohmann::json::object(), weak_ = nlohmann::json::object(), strong_ = nlohmann::json::object();
};

}  // namespace wsd::tools
