#pragma once
// How a llama.cpp model is loaded and run: its context, threads, batches, numerics and where its
// layers live (llama.cpp's own tools' -c, -t, -b, -ngl, --split-mode, --tensor-split, --main-gpu,
// --no-kv-offload).
#include <string>
#include <vector>

namespace wsd {

// How several GPUs of one machine share a model: one GPU (main_gpu), whole layers each, or rows
// of each layer's weights.
enum class SplitMode { none, layer, row };

inline std::string to_string(SplitMode m) { return m == SplitMode::none ? "none" : m == SplitMode::layer ? "layer" : "row"; }

// gpu_layers = -1 (the default) puts every layer on the GPU where the build has a GPU backend and
// a device is present, and runs on the CPU otherwise.
inline constexpr int kAllLayersWhereGpu = -1;

struct LlamaOptions {
  int context = 4096;   // tokens of KV cache (prompt + draft + continuation)
  int threads = 0;      // 0: all cores
  int batch = 512;      // largest number of tokens one llama_decode call takes
  bool quiet = true;    // silence llama.cpp's own log
  // Batch-invariant numerics: llama.cpp's kernels round differently for different batch sizes
  // (Gemma 3 moves by percents on the CPU), so a position's logits depend on how it was batched.
  // On: physical batches no larger than the backend computes the same way (invariant_ubatch), no
  // weight repacking, flash attention; every position is then computed by the same kernels however
  // the tokens were batched, and the online decoder reproduces the offline reference bit for bit.
  // Off: llama.cpp's fastest setup.
  bool batch_invariant = true;
  int ubatch = 0;  // tokens per physical batch: 0 is the backend's invariant limit (batch-invariant mode) or batch
  int gpu_layers = kAllLayersWhereGpu;  // layers on the GPU: -1 all where there is one, 0 none (the CPU), N the first N
  SplitMode split_mode = SplitMode::layer;
  int main_gpu = 0;                 // the GPU (an index among the GPU devices) for split_mode none
  std::vector<float> tensor_split{};  // each GPU's share of the model, e.g. {3, 1}; empty: by free memory
  bool kv_offload = true;           // the KV cache on the GPU with its layers
};

}  // namespace wsd
