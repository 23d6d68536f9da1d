#pragma once
// What a part of the decoder reports of its own parameters, for the trace: each policy describes
// itself, and a response's record holds what the parts that ran were built with.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace wsd {

// One parameter: a name ("threshold", or "draft.temperature" for a part of a part) and its value.
struct Setting {
  using Value = std::variant<bool, std::int64_t, std::uint64_t, double, std::string, std::vector<std::string>,
                             std::vector<double>>;
  std::string name;
  Value value;
  bool operator==(const Setting&) const = default;
};
using Settings = std::vector<Setting>;

// A policy that can describe its parameters: describe(Settings&) appends them.
template <class T>
concept Describable = requires(const T& t, Settings& out) {
  t.describe(out);
};

// Appends what `part` says of itself, each name after `prefix`; a part that does not describe
// itself adds nothing.
template <class T>
void describe_part(const T& part, Settings& out, std::string_view prefix = {}) {
  using Part = std::remove_cvref_t<std::unwrap_reference_t<T>>;
  if constexpr (Describable<Part>) {
    const Part& p = part;
    Settings own;
    p.describe(own);
    for (auto& s : own) out.push_back({std::string(prefix) + s.name, std::move(s.value)});
  }
}

// The value of a setting by name, or nullptr.
inline const Setting::Value* find_setting(const Settings& settings, std::string_view name) {
  for (const auto& s : settings)
    if (s.name == name) return &s.value;
  return nullptr;
}

}  // namespace wsd
