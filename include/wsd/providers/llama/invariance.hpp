#pragma once
// How exact mode batches on llama.cpp's CPU backend for a given model: the widest physical batch
// whose rows are bit for bit the rows of each token read alone, and whether several sequences may
// share one. It depends on the kernels and on the types of the model's weights, read from the
// GGUF's tensor table (gguf.h: metadata only, no weights loaded). Every figure here was measured
// with wsd-batch-shapes (portable build, SmolLM2-135M requantised to each type, and the default
// pair); a type not measured gets one token per physical batch, sequences apart.
//
// Reference kernels (ggml's use_ref, which wsd's llama.cpp patch lets a context set: vec_dot
// matmuls, repacked weights by gemv alone, untiled and unsplit flash attention, no fusion, no
// llamafile sgemm): every width from 1
// to 512 and batches mixing up to 32 sequences, contexts past 512 tokens too, bit-identical for
// every type in kReferenceTypes. Each logit is one vec_dot over its row whatever the batch, and the
// attention of one query row skips masked cells, so neither the width nor the neighbours matter.
//
// Stock kernels (a llama.cpp without the patch): quantised weights identical for 1 to 7 rows (at 8
// the tiled matmul takes over), F16 and BF16 from 2 rows on not (llamafile's sgemm), and mixed
// sequences not (the attention spans the longest sequence's cells): 6 tokens, sequences apart.
#include <ggml-cpu.h>
#include <ggml.h>
#include <gguf.h>
#include <llama.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

namespace wsd {

// What exact mode may do on a backend: physical batches of up to `width` tokens, and several
// sequences in one physical batch where `mixes`.
struct BatchInvariance {
  int width = 1;
  bool mixes = false;
  bool operator==(const BatchInvariance&) const = default;
};

// True where this llama.cpp has wsd's patch (cmake/patches/llama.cpp-reference-kernels.patch):
// llama_set_reference_kernels exists.
#ifdef LLAMA_HAS_REFERENCE_KERNELS
inline constexpr bool kLlamaReferenceKernels = true;
#else
inline constexpr bool kLlamaReferenceKernels = false;
#endif

// True where repacked weights compute with the reference kernels too: wsd's patch makes x86's
// repacked kernels take gemv for every row under use_ref (measured with the rest); AMX's and
// ARM's (KleidiAI) are not covered, so exact mode keeps weights as they are there.
inline bool reference_repack() {
  return kLlamaReferenceKernels && ggml_cpu_has_avx2() && !ggml_cpu_has_amx_int8() && !ggml_cpu_has_neon();
}

// The widest physical batch measured with the reference kernels (llama.cpp's default n_batch).
inline constexpr int kReferenceWidth = 512;
// The most sequences measured sharing physical batches with the reference kernels.
inline constexpr int kReferenceMix = 32;
// The stock kernels' invariant width for quantised weights: the largest even one of 1 to 7.
inline constexpr int kStockWidth = 6;

// Weight types measured batch-invariant with the reference kernels at every width and mix above.
inline bool reference_invariant_type(ggml_type t) {
  constexpr std::array measured = {GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0, GGML_TYPE_Q5_1, GGML_TYPE_Q8_0,
                                   GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K, GGML_TYPE_F16,  GGML_TYPE_BF16};
  return std::find(measured.begin(), measured.end(), t) != measured.end();
}

// Weight types measured batch-invariant with the stock kernels up to kStockWidth rows.
inline bool stock_invariant_type(ggml_type t) {
  constexpr std::array measured = {GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0, GGML_TYPE_Q5_1,
                                   GGML_TYPE_Q8_0, GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K};
  return std::find(measured.begin(), measured.end(), t) != measured.end();
}

// True where every 2-D tensor of the GGUF at `path` has a type `measured` accepts (false where the
// file cannot be read).
template <class Measured>
bool every_weight_type(const std::string& path, Measured measured) {
  ggml_context* meta = nullptr;
  gguf_init_params params{};
  params.no_alloc = true;
  params.ctx = &meta;
  gguf_context* g = gguf_init_from_file(path.c_str(), params);
  if (!g) return false;
  bool all = true;
  for (int64_t i = 0; i < gguf_get_n_tensors(g) && all; ++i) {
    const ggml_tensor* t = meta ? ggml_get_tensor(meta, gguf_get_tensor_name(g, i)) : nullptr;
    all = t && (ggml_n_dims(t) < 2 || measured(t->type));
  }
  if (meta) ggml_free(meta);
  gguf_free(g);
  return all;
}

// Exact mode's batching on the CPU for the GGUF at `path`, with the reference kernels (where this
// llama.cpp has them) or the stock ones.
inline BatchInvariance cpu_invariance(const std::string& path, bool reference_kernels = kLlamaReferenceKernels) {
  if (reference_kernels) {
    if (every_weight_type(path, reference_invariant_type)) return {kReferenceWidth, true};
  } else if (every_weight_type(path, stock_invariant_type)) {
    return {kStockWidth, false};
  }
  return {1, false};
}

}  // namespace wsd
