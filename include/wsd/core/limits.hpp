#pragma once
// The decoder's own parameters: how long a draft and an answer may be, how often it scores, and
// which of the two forms decode() runs. Everything else belongs to the parts it is composed of.
#include <cstddef>
#include <string>

#include "wsd/core/errors.hpp"

namespace wsd {

// Online interleaves drafting and scoring; offline is the reference's three passes.
enum class Mode { online, offline };

inline std::string to_string(Mode m) { return m == Mode::online ? "online" : "offline"; }

struct Limits {
  std::size_t draft_max_tokens = 512;  // the drafter's limit (the reference's example value)
  std::size_t max_tokens = 2048;       // accepted draft + continuation
  std::size_t chunk = 8;               // weak tokens drafted between two scoring calls (online), >= 1
  Mode mode = Mode::online;            // what decode() runs
};

// Throws ConfigError naming the field when a limit is out of range.
inline void validate(const Limits& l, const std::string& where = "limits") {
  if (l.chunk == 0) throw ConfigError(where + ": chunk = 0 must be at least 1");
}

}  // namespace wsd
