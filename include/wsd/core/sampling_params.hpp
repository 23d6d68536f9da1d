#pragma once
// How one phase picks its next token (SamplingParams), with its settings described once: part of
// the core because a ScoringSequence is told them (set_sampling) and Config nests them.
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "wsd/core/fields.hpp"
#include "wsd/core/settings.hpp"

namespace wsd {

// How one phase picks its next token; temperature 0 means greedy.
struct SamplingParams {
  double temperature = 0.0;         // 0: greedy (argmax)
  double top_p = 1.0;               // nucleus mass kept, in (0, 1]
  int top_k = 0;                    // 0: no top-k cut
  std::uint64_t seed = 0;           // the same seed gives the same tokens
  double repetition_penalty = 1.0;  // > 1 lowers the logits of tokens already written (1: off, as the reference)
  bool greedy() const { return temperature <= 0.0; }
  bool operator==(const SamplingParams&) const = default;
  // For the trace, from sampling_fields(): the four the reference has, and the penalty when one is set.
  void describe(Settings& out) const;
};

// The sampling parameters described once (core/fields.hpp); a configuration nests them as
// "draft.*" and "continuation.*".
inline std::span<const Field<SamplingParams>> sampling_fields() {
  using K = FieldKind;
  constexpr double inf = std::numeric_limits<double>::infinity();
  static const std::vector<Field<SamplingParams>> list = {
      member_field(&SamplingParams::temperature, {.name = "temperature", .flag = "temperature",
                                                  .help = "temperature (0: greedy)", .kind = K::real,
                                                  .range = {.min = 0, .max = inf, .max_open = true}}),
      member_field(&SamplingParams::top_p, {.name = "top_p", .flag = "top-p", .help = "nucleus mass kept",
                                            .kind = K::real, .range = {.min = 0, .max = 1, .min_open = true}}),
      member_field(&SamplingParams::top_k, {.name = "top_k", .flag = "top-k", .help = "top-k (0: off)", .kind = K::count,
                                            .range = {.min = 0, .max = std::numeric_limits<int>::max()}}),
      member_field(&SamplingParams::seed, {.name = "seed", .flag = "seed", .help = "random seed", .kind = K::count,
                                           .range = {.min = 0}}),
      member_field(&SamplingParams::repetition_penalty,
                   {.name = "repetition_penalty", .flag = "repetition-penalty",
                    .help = "lowers the logits of tokens already written (1: off, as the reference; base models loop)",
                    .kind = K::real, .range = {.min = 0, .max = inf, .min_open = true, .max_open = true},
                    .traced_at_default = false}),
  };
  return list;
}

inline void SamplingParams::describe(Settings& out) const { describe_fields(sampling_fields(), *this, out); }

// Throws ConfigError naming `where` (e.g. "draft") and the field when a value is out of range.
inline void validate(const SamplingParams& s, const std::string& where) { check_fields(sampling_fields(), s, where); }

}  // namespace wsd
