#pragma once
// How large a physical batch llama.cpp's CPU backend computes the same way, bit for bit, however
// the tokens are grouped, for a given model: it depends on the types of the model's weights, read
// from the GGUF's tensor table (gguf.h: metadata only, no weights loaded).
//
// Measured with wsd-batch-shapes (portable build, 48 tokens, every type on SmolLM2-135M requantized,
// and the default pair): logits bit-identical for 1 to 7 tokens per physical batch with Q4_0, Q4_1,
// Q5_0, Q5_1, Q8_0, Q4_K, Q5_K and Q6_K weights; at 8 rows llama.cpp's matmul changes path. F16 and
// BF16 weights differ from 2 rows on (|d logit| 0.06 and 0.35 on SmolLM2): a model with any such
// 2-D tensor, or of a type not measured, gets 1 token per physical batch.
#include <ggml.h>
#include <gguf.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

namespace wsd {

// The largest of the invariant sizes (1 to 7) that is even: the fastest of them.
inline constexpr int kInvariantUbatch = 6;

// Weight types whose CPU kernels were measured batch-invariant up to kInvariantUbatch rows.
inline bool cpu_batch_invariant_type(ggml_type t) {
  constexpr std::array measured = {GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0, GGML_TYPE_Q5_1,
                                   GGML_TYPE_Q8_0, GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K};
  return std::find(measured.begin(), measured.end(), t) != measured.end();
}

// The batch-invariant physical batch size on the CPU for the GGUF at `path`: kInvariantUbatch
// where every 2-D tensor has a measured type, 1 otherwise (or where the file cannot be read).
inline int cpu_invariant_ubatch(const std::string& path) {
  ggml_context* meta = nullptr;
  gguf_init_params params{};
  params.no_alloc = true;
  params.ctx = &meta;
  gguf_context* g = gguf_init_from_file(path.c_str(), params);
  if (!g) return 1;
  int limit = kInvariantUbatch;
  for (int64_t i = 0; i < gguf_get_n_tensors(g) && limit > 1; ++i) {
    const ggml_tensor* t = meta ? ggml_get_tensor(meta, gguf_get_tensor_name(g, i)) : nullptr;
    if (!t || (ggml_n_dims(t) >= 2 && !cpu_batch_invariant_type(t->type))) limit = 1;
  }
  if (meta) ggml_free(meta);
  gguf_free(g);
  return limit;
}

}  // namespace wsd
