#pragma once
// The tools' --version: wsd's version, the llama.cpp build they link (its backend and flags, as
// cmake/setup-llama.sh recorded them) and the GPUs it sees.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>
#include <wsd/providers/llama/devices.hpp>
#include <wsd/version.hpp>

#ifndef WSD_LLAMA_BUILD_INFO
#define WSD_LLAMA_BUILD_INFO "unknown (not built by cmake/setup-llama.sh)"
#endif

namespace wsd::tools {

inline std::string version_text(const std::string& tool) {
  std::vector<std::string> labels;
  for (const LlamaDevice& d : llama_gpu_devices()) labels.push_back(d.label());
  const std::string gpus = detail::joined(labels);
  return tool + " " + WSD_VERSION_STRING + "\nllama.cpp: " + WSD_LLAMA_BUILD_INFO +
         "\nbackends: " + detail::joined(llama_backends()) + "\nGPUs: " + (gpus.empty() ? "none" : gpus);
}

// Adds --version to `app`.
inline void add_version_flag(CLI::App& app, const std::string& tool) {
  app.set_version_flag("--version", [tool] { return version_text(tool); }, "the version, llama.cpp's build and the GPUs it sees");
}

}  // namespace wsd::tools
