#pragma once
// LlamaOptions' placement settings as JSON, derived from their descriptions
// (llama_placement_fields in options.hpp): read with each value checked (errors name the field
// and the value), and written.
#include <nlohmann/json.hpp>
#include <string>

#include "wsd/json/fields.hpp"
#include "wsd/providers/llama/options.hpp"

namespace wsd {

// The options with `patch`'s fields set (an object of described fields); `where` names it in errors.
inline LlamaOptions with_placement(LlamaOptions o, const nlohmann::json& patch, const std::string& where) {
  if (!patch.is_object()) throw ConfigError(where + ": model options must be an object, got " + patch.dump());
  read_fields(llama_placement_fields(), patch, o, where);
  return o;
}

inline nlohmann::json placement_json(const LlamaOptions& o) { return fields_to_json(llama_placement_fields(), o); }

}  // namespace wsd
