#pragma once
// Where `make models` puts the default pair: ${WSD_HOME:-$HOME/.cache/wsd}/models.
#include <cstdlib>
#include <string>

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

}  // namespace wsd
