#pragma once
// Where `make models` puts the default pair: ${WSD_HOME:-$HOME/.cache/wsd}/models (as
// cmake/wsd-home.sh names them; tests/test_defaults.cpp checks that the two agree).
#include <cstdlib>
#include <string>
#include <vector>

#include "wsd/core/errors.hpp"

namespace wsd {

inline std::string wsd_home() {
  if (const char* home = std::getenv("WSD_HOME"); home && *home) return home;
  const char* user = std::getenv("HOME");
  return std::string(user ? user : ".") + "/.cache/wsd";
}

// SmolLM2-135M-Instruct Q4_1: the aligned drafter.
inline std::string default_weak_model() { return wsd_home() + "/models/SmolLM2-135M-Instruct-Q4_1.gguf"; }

// Gemma-3-270M (pre-trained) Q4_K_M: the base model.
inline std::string default_strong_model() { return wsd_home() + "/models/gemma-3-270m-Q4_K_M.gguf"; }

// A named pair of models the tools know (`--pair NAME`), fetched by `make models` (default) or
// `make models-large` (the Qwen2.5-Coder pair: instruct models both, standing in for the paper's
// cost ratio and for a shared vocabulary, not for the alignment effect).
struct ModelPair {
  std::string name, weak, strong, about;
};

inline std::vector<ModelPair> model_pairs() {
  const std::string models = wsd_home() + "/models/";
  const std::string qwen_small = models + "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf";
  const std::string qwen_large = models + "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf";
  return {{"default", default_weak_model(), default_strong_model(),
           "SmolLM2-135M-Instruct drafts, Gemma-3-270M (base) continues; different vocabularies"},
          {"qwen", qwen_small, qwen_large,
           "Qwen2.5-Coder-0.5B-Instruct drafts, Qwen2.5-Coder-1.5B-Instruct continues; one vocabulary, 3x apart "
           "(both instruct models: make models-large)"},
          {"smol-qwen", default_weak_model(), qwen_large,
           "SmolLM2-135M-Instruct drafts, Qwen2.5-Coder-1.5B-Instruct continues; different vocabularies, 11x apart "
           "(make models-large)"}};
}

// The pair of that name; ConfigError naming the known ones otherwise.
inline ModelPair model_pair(const std::string& name) {
  std::string known;
  for (const auto& p : model_pairs()) {
    if (p.name == name) return p;
    known += (known.empty() ? "" : ", ") + p.name;
  }
  throw ConfigError("pair = \"" + name + "\" is not one of " + known);
}

}  // namespace wsd
