#pragma once
// xtensor views over logits: a provider's [rows x vocab] block seen as a 2-d tensor without a copy.
#include <array>
#include <cstddef>
#include <xtensor/xadapt.hpp>

#include "wsd/core/logits.hpp"

namespace wsd {

// A read-only, no-copy view of shape {rows, vocab}.
inline auto view(const LogitsBlock& block) {
  return xt::adapt(block.data, block.rows * block.vocab, xt::no_ownership(),
                   std::array<std::size_t, 2>{block.rows, block.vocab});
}

// A writable, no-copy view of shape {rows, vocab} over logits the caller owns.
inline auto view(float* data, std::size_t rows, std::size_t vocab) {
  return xt::adapt(data, rows * vocab, xt::no_ownership(), std::array<std::size_t, 2>{rows, vocab});
}

}  // namespace wsd
