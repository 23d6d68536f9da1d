#pragma once
// The decoder's own parameters: how long a draft and an answer may be, how often it scores, and
// which of the two forms decode() runs. Everything else belongs to the parts it is composed of.
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wsd/core/errors.hpp"
#include "wsd/core/fields.hpp"

namespace wsd {

// Online interleaves drafting and scoring; offline is the reference's three passes; weak-only is
// the drafter alone (a baseline: decode(c, Mode::weak_only), never the limits' mode).
enum class Mode { online, offline, weak_only };

inline std::string to_string(Mode m) {
  return m == Mode::online ? "online" : m == Mode::offline ? "offline" : "weak-only";
}
// The mode to_string names, if `s` names one.
inline std::optional<Mode> mode_from_string(std::string_view s) {
  for (Mode m : {Mode::online, Mode::offline, Mode::weak_only})
    if (s == to_string(m)) return m;
  return std::nullopt;
}

struct Limits {
  std::size_t draft_max_tokens = 512;  // the drafter's limit (the reference's example value)
  std::size_t max_tokens = 2048;       // the answer's strong tokens (kept draft + continuation): a hard cap
  std::size_t chunk = 8;               // weak tokens drafted between two scoring calls (online), >= 1
  Mode mode = Mode::online;            // what decode() runs
};

// The limits described once (core/fields.hpp): configuration fields, flags, per-request fields.
inline std::span<const Field<Limits>> limits_fields() {
  using K = FieldKind;
  static const std::vector<Field<Limits>> list = {
      member_field(&Limits::draft_max_tokens, {.name = "draft_max_tokens", .flag = "draft-max-tokens",
                                               .help = "the drafter's limit", .kind = K::count, .range = {.min = 0},
                                               .per_request = true}),
      member_field(&Limits::max_tokens, {.name = "max_tokens", .flag = "max-tokens",
                                         .help = "the answer's strong tokens (kept draft + continuation): a hard cap",
                                         .kind = K::count, .range = {.min = 0}, .per_request = true}),
      member_field(&Limits::chunk, {.name = "chunk", .flag = "chunk",
                                    .help = "weak tokens drafted between two scoring calls (online)", .kind = K::count,
                                    .range = {.min = 1}, .per_request = true}),
      {.name = "mode", .flag = "mode", .help = "online (this library) or offline (the reference's three passes)",
       .kind = K::choice, .choices = {"online", "offline"}, .per_request = true,
       .get = [](const Limits& l) { return FieldValue(to_string(l.mode)); },
       .set = [](Limits& l, const FieldValue& v) {
         const auto* name = std::get_if<std::string>(&v);
         const auto m = name ? mode_from_string(*name) : std::nullopt;
         if (!m || *m == Mode::weak_only)  // refused where it is read, whoever sets it (not run as something else)
           throw ConfigError("mode = " + (name ? "\"" + *name + "\"" : std::string("(not a name)")) +
                                 " is not one of online, offline",
                             "mode");
         l.mode = *m;
       }},
  };
  return list;
}

// Throws ConfigError naming the field when a limit is out of range (weak-only is not a mode of
// decode(): decode(c, Mode::weak_only) runs the drafter alone).
inline void validate(const Limits& l, const std::string& where = "limits") { check_fields(limits_fields(), l, where); }

}  // namespace wsd
