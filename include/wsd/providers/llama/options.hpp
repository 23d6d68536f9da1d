#pragma once
// How a llama.cpp model is loaded and run: its context, threads, batches, numerics and where its
// layers live (llama.cpp's own tools' -c, -t, -b, -ngl, --split-mode, --tensor-split, --main-gpu,
// --no-kv-offload).
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "wsd/core/fields.hpp"

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
  // Batch-invariant numerics: llama.cpp's fastest kernels round differently for different batch
  // shapes (Gemma 3 moves by percents on the CPU), so a position's logits depend on how it was
  // batched. On: ggml's reference kernels where llama.cpp has them (wsd's patch), no weight
  // repacking, flash attention, and physical batches only as wide, and shared by sequences only
  // where, the backend was measured to compute the same way (LlamaModel::invariance: on the CPU
  // every width to 512 and mixes of 32 sequences); every position is then computed by the same
  // arithmetic however the tokens were batched, and the online decoder reproduces the offline
  // reference bit for bit. Off: llama.cpp's fastest setup.
  bool batch_invariant = true;
  // Batch-invariant mode on a backend whose invariant width is narrower than `batch`: a read from
  // a sequence's start (a prompt: wsd's policies read every prompt in a call of its own, in every
  // mode) runs in physical batches of up to `batch` tokens, every later read in the invariant
  // width. The same prompt read that way gives the same cache every time, so exactness holds, and
  // a long prompt costs a prefill rather than a token-by-token read. Off: every read in the
  // invariant width, so that no position's logits depend on how any read was split into calls.
  bool whole_prompts = true;
  // Tokens per physical batch: 0 is batch, or the backend's invariant width where narrower
  // (batch-invariant mode); N is taken as it is, sequences sharing batches (for measuring).
  int ubatch = 0;
  int gpu_layers = kAllLayersWhereGpu;  // layers on the GPU: -1 all where there is one, 0 none (the CPU), N the first N
  SplitMode split_mode = SplitMode::layer;
  int main_gpu = 0;                 // the GPU (an index among the GPU devices) for split_mode none
  std::vector<float> tensor_split{};  // each GPU's share of the model, e.g. {3, 1}; empty: by free memory
  bool kv_offload = true;           // the KV cache on the GPU with its layers
};

// The placement options described once (core/fields.hpp): llama.cpp's -ngl, --split-mode,
// --main-gpu, --tensor-split, --no-kv-offload. Model options in JSON (options_json.hpp) and the
// tools' --NAME / --weak-NAME / --strong-NAME flags are derived from these, so a new per-model
// option is one entry here.
inline std::span<const Field<LlamaOptions>> llama_placement_fields() {
  using K = FieldKind;
  constexpr double most = std::numeric_limits<int>::max();
  static const std::vector<Field<LlamaOptions>> list = {
      member_field(&LlamaOptions::gpu_layers,
                   {.name = "gpu_layers", .flag = "gpu-layers",
                    .help = "layers on the GPU: -1 every layer where there is a GPU, 0 the CPU, N the first N",
                    .kind = K::integer, .range = {.min = -1, .max = most}}),
      {.name = "split_mode", .flag = "split-mode",
       .help = "how several GPUs share a model: none (main_gpu alone), layer or row", .kind = K::choice,
       .choices = {"none", "layer", "row"},
       .get = [](const LlamaOptions& o) { return FieldValue(to_string(o.split_mode)); },
       .set =
           [](LlamaOptions& o, const FieldValue& v) {
             const auto& m = std::get<std::string>(v);
             o.split_mode = m == "none" ? SplitMode::none : m == "row" ? SplitMode::row : SplitMode::layer;
           }},
      member_field(&LlamaOptions::main_gpu,
                   {.name = "main_gpu", .flag = "main-gpu",
                    .help = "the GPU that holds the model with split_mode none (an index among the GPUs)",
                    .kind = K::integer, .range = {.min = 0, .max = most}}),
      member_field(&LlamaOptions::tensor_split,
                   {.name = "tensor_split", .flag = "tensor-split",
                    .help = "each GPU's share of the model, e.g. 3,1 (empty: by free memory)", .kind = K::reals,
                    .range = {.min = 0, .max = std::numeric_limits<double>::infinity(), .max_open = true}}),
      member_field(&LlamaOptions::kv_offload,
                   {.name = "kv_offload", .flag = "kv-offload",
                    .help = "the KV cache on the GPU with its layers (off: in host memory)", .kind = K::boolean}),
  };
  return list;
}

}  // namespace wsd
