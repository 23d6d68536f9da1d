#pragma once
// The devices a llama.cpp build can run a model on, and the checks that turn a request for GPU
// layers where there is none into one clear error instead of a crash or a silent CPU run.
#include <ggml-backend.h>
#include <llama.h>

#include <algorithm>
#include <string>
#include <vector>

#include "wsd/core/errors.hpp"
#include "wsd/providers/llama/invariance.hpp"
#include "wsd/providers/llama/options.hpp"
#include "wsd/core/strings.hpp"

namespace wsd {

// One device llama.cpp offloads to, as its tools name it: "Vulkan0: llvmpipe (LLVM 15.0.6, 256 bits)".
struct LlamaDevice {
  std::string name;         // "Vulkan0", "CUDA0"
  std::string description;  // "NVIDIA H100 80GB HBM3"
  std::string backend;      // "Vulkan", "CUDA"
  std::string label() const { return description.empty() ? name : name + ": " + description; }
};

// The backends this build of llama.cpp has ("CPU", "Vulkan", "CUDA", ...).
inline std::vector<std::string> llama_backends() {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < ggml_backend_reg_count(); ++i) out.emplace_back(ggml_backend_reg_name(ggml_backend_reg_get(i)));
  return out;
}

// The GPUs present (integrated ones where there is no discrete one, as llama.cpp chooses).
inline std::vector<LlamaDevice> llama_gpu_devices() {
  std::vector<LlamaDevice> gpus, integrated;
  for (std::size_t i = 0; i < ggml_backend_dev_count(); ++i) {
    ggml_backend_dev_t d = ggml_backend_dev_get(i);
    const auto type = ggml_backend_dev_type(d);
    if (type != GGML_BACKEND_DEVICE_TYPE_GPU && type != GGML_BACKEND_DEVICE_TYPE_IGPU) continue;
    LlamaDevice dev{ggml_backend_dev_name(d), ggml_backend_dev_description(d),
                    ggml_backend_reg_name(ggml_backend_dev_backend_reg(d))};
    (type == GGML_BACKEND_DEVICE_TYPE_GPU ? gpus : integrated).push_back(std::move(dev));
  }
  return gpus.empty() ? integrated : gpus;
}

// Where a model's layers go once the options are checked against the build and the devices.
struct Placement {
  int gpu_layers = 0;                // what llama.cpp is given: 0 (the CPU), N, or -1 (all)
  std::vector<LlamaDevice> devices;  // the GPUs it uses (empty on the CPU)
  // "CPU", or the GPUs with the layers they hold: "Vulkan0: llvmpipe (...) (all layers)".
  std::string label() const {
    if (devices.empty()) return "CPU";
    std::vector<std::string> labels;
    for (const auto& d : devices) labels.push_back(d.label());
    return detail::joined(labels) + (gpu_layers < 0 ? " (all layers)" : " (" + std::to_string(gpu_layers) + " layers)");
  }
};

// Exact mode's batching on a GPU backend (wsd-batch-shapes measures it). Vulkan, measured on Mesa's
// llvmpipe: one token (at 2 to 4 tokens the logits move by about 1e-5, from 5 on by about 0.05);
// CUDA and the others are not measured here, so one as well, sequences apart. One token per
// physical batch is invariant and slow (a prompt is read whole all the same:
// LlamaOptions::whole_prompts): batch_invariant = false is the fast mode, where the README states
// how far online and offline then differ.
inline BatchInvariance gpu_invariance(const Placement&) { return {1, false}; }

// Checks the offload options of the model at `path` against this build and the devices present;
// throws ConfigError naming the option, the value and what is missing.
inline Placement place_layers(const LlamaOptions& o, const std::string& path) {
  const std::string where = "model " + path + ": ";
  if (o.gpu_layers < kAllLayersWhereGpu)
    throw ConfigError(where + "gpu_layers = " + std::to_string(o.gpu_layers) + " must be -1 (all where there is a GPU), 0 or more");
  const std::vector<LlamaDevice> gpus = llama_gpu_devices();
  if (o.gpu_layers == 0 || (o.gpu_layers == kAllLayersWhereGpu && gpus.empty())) return {0, {}};
  const std::string asked = where + "gpu_layers = " + std::to_string(o.gpu_layers) + " asks for GPU layers, but ";
  const std::vector<std::string> backends = llama_backends();
  const bool gpu_backend = std::any_of(backends.begin(), backends.end(), [](const std::string& b) { return b != "CPU" && b != "BLAS" && b != "RPC"; });
  if (!gpu_backend)
    throw ConfigError(asked + "this llama.cpp build has no GPU backend (it has " + detail::joined(backends) +
                      "; build one with WSD_LLAMA_BACKEND=cuda or vulkan make llama)");
  if (gpus.empty())
    throw ConfigError(asked + "no GPU device is present (backends: " + detail::joined(backends) +
                      "; a software Vulkan device counts only where GGML_VK_VISIBLE_DEVICES names it)");
  if (o.main_gpu < 0 || static_cast<std::size_t>(o.main_gpu) >= gpus.size())
    throw ConfigError(where + "main_gpu = " + std::to_string(o.main_gpu) + " is not a GPU index: there are " +
                      std::to_string(gpus.size()) + " (0 to " + std::to_string(gpus.size() - 1) + ")");
  if (o.tensor_split.size() > gpus.size())
    throw ConfigError(where + "tensor_split has " + std::to_string(o.tensor_split.size()) + " shares, for " +
                      std::to_string(gpus.size()) + " GPU(s)");
  double total = 0.0;
  for (float share : o.tensor_split) {
    if (!(share >= 0.0f)) throw ConfigError(where + "tensor_split holds " + format_number(share) + ", not a share >= 0");
    total += share;
  }
  if (!o.tensor_split.empty() && total <= 0.0) throw ConfigError(where + "tensor_split's shares are all 0");
  Placement p{o.gpu_layers, {}};
  if (o.split_mode == SplitMode::none) {
    p.devices.push_back(gpus[static_cast<std::size_t>(o.main_gpu)]);
  } else {
    for (std::size_t i = 0; i < gpus.size(); ++i)
      if (o.tensor_split.empty() || (i < o.tensor_split.size() && o.tensor_split[i] > 0.0f)) p.devices.push_back(gpus[i]);
  }
  return p;
}

}  // namespace wsd
