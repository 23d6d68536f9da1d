#pragma once
// The decoder's own parameters: how long a draft and an answer may be, how often it scores, and
// which of the two forms decode() runs. Everything else belongs to the parts it is composed of.
#include <cstddef>
#include <string>

#include "wsd/core/errors.hpp"

namespace wsd {

// Online interleaves drafting and scoring; offline is the reference's three passes; weak-only is
// the drafter alone (a baseline: decode_weak_only, never what decode() runs).
enum class Mode { online, offline, weak_only };

inline std::string to_string(Mode m) {
  return m == Mode::online ? "online" : m == Mode::offline ? "offline" : "weak-only";
}

struct Limits {
  std::size_t draft_max_tokens = 512;  // the drafter's limit (the reference's example value)
  std::size_t max_tokens = 2048;       // the answer's strong tokens (kept draft + continuation): a hard cap
  std::size_t chunk = 8;               // weak tokens drafted between two scoring calls (online), >= 1
  Mode mode = Mode::online;            // what decode() runs
};

// Throws ConfigError naming the field when a limit is out of range.
inline void validate(const Limits& l, const std::string& where = "limits") {
  if (l.chunk == 0) throw ConfigError(where + ": chunk = 0 must be at least 1");
  if (l.mode == Mode::weak_only)
    throw ConfigError(where + ": mode = \"weak-only\" is not online or offline (decode_weak_only runs the drafter alone)");
}

}  // namespace wsd
