#pragma once
// The tools' default for conversations in flight (wsd-generate --parallel, wsd-server --parallel).
#include <cstddef>
#include <thread>

namespace wsd::tools {

// Conversations in flight by default. On a 2-core CPU batching gains nothing measurable (wsd-bench's
// throughput section: llama.cpp's CPU kernels there are compute-bound and reuse a weight row only
// across 4 or 6 output rows), so one at a time; with more cores, 4.
inline std::size_t default_parallel() {
  return std::thread::hardware_concurrency() > 2 ? 4 : 1;
}

}  // namespace wsd::tools
