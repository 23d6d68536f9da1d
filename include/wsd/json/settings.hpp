#pragma once
// Settings (what the parts of a decoder report of themselves) to and from JSON: a dotted name is
// a nested object ("draft.temperature" -> {"draft": {"temperature": ...}}).
#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "wsd/core/errors.hpp"
#include "wsd/core/settings.hpp"

namespace wsd {

inline nlohmann::json to_json(const Settings& settings) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& s : settings) {
    std::string pointer = "/" + s.name;
    for (auto& c : pointer)
      if (c == '.') c = '/';
    std::visit([&](const auto& v) { out[nlohmann::json::json_pointer(pointer)] = v; }, s.value);
  }
  return out;
}

// Flattens a JSON object back into settings; `where` names it in the errors.
inline Settings settings_from_json(const nlohmann::json& j, const std::string& where, const std::string& prefix = {}) {
  if (!j.is_object()) throw InputError(where + ": " + (prefix.empty() ? "config" : prefix) + " is not an object");
  Settings out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string name = prefix + it.key();
    const auto& v = it.value();
    if (v.is_object()) {
      for (auto& s : settings_from_json(v, where, name + ".")) out.push_back(std::move(s));
    } else if (v.is_boolean()) {
      out.push_back({name, v.get<bool>()});
    } else if (v.is_number_unsigned()) {
      out.push_back({name, v.get<std::uint64_t>()});
    } else if (v.is_number_integer()) {
      out.push_back({name, v.get<std::int64_t>()});
    } else if (v.is_number()) {
      out.push_back({name, v.get<double>()});
    } else if (v.is_string()) {
      out.push_back({name, v.get<std::string>()});
    } else if (v.is_array() && std::all_of(v.begin(), v.end(), [](const auto& e) { return e.is_string(); })) {
      out.push_back({name, v.get<std::vector<std::string>>()});
    } else {
      throw InputError(where + ": config." + name + " = " + v.dump() +
                       " is not a number, string, boolean or list of strings");
    }
  }
  return out;
}

}  // namespace wsd
