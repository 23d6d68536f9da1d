#pragma once
// LlamaOptions' placement settings described once: each one's JSON field, kind and help, how it
// is read (errors name the field and the value) and written. The tools derive their flags from
// these descriptions (--NAME for both models, --weak-NAME and --strong-NAME for one), so a new
// per-model option is one entry here.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "wsd/core/errors.hpp"
#include "wsd/providers/llama/options.hpp"

namespace wsd {

struct LlamaOptionDescription {
  // integer: a whole number; shares: a list of numbers >= 0; choice: one of `choices`;
  // switch_off: true by default, turned off by a flag without a value (--no-NAME).
  enum class Kind { integer, shares, choice, switch_off };
  std::string_view name;  // the JSON field (flags: '-' for '_')
  std::string_view help;
  Kind kind;
  std::vector<std::string_view> choices;                              // for a choice
  void (*read)(LlamaOptions&, const nlohmann::json&, const std::string& where);  // checks the JSON type
  nlohmann::json (*write)(const LlamaOptions&);
};

namespace detail {
inline ConfigError option_type_error(const std::string& where, std::string_view name, const nlohmann::json& v,
                                     const char* what) {
  return ConfigError(where + ": " + std::string(name) + " = " + v.dump() + " is not " + what);
}
inline int option_integer(const nlohmann::json& v, const std::string& where, std::string_view name) {
  if (!v.is_number_integer() || v.get<std::int64_t>() < INT32_MIN || v.get<std::int64_t>() > INT32_MAX)
    throw option_type_error(where, name, v, "a whole number");
  return v.get<int>();
}
}  // namespace detail

// The placement options (llama.cpp's -ngl, --split-mode, --main-gpu, --tensor-split, --no-kv-offload).
inline std::span<const LlamaOptionDescription> llama_placement_options() {
  using Kind = LlamaOptionDescription::Kind;
  static const std::vector<LlamaOptionDescription> list = {
      {"gpu_layers", "layers on the GPU: -1 every layer where there is a GPU (the default), 0 the CPU, N the first N",
       Kind::integer, {},
       [](LlamaOptions& o, const nlohmann::json& v, const std::string& w) { o.gpu_layers = detail::option_integer(v, w, "gpu_layers"); },
       [](const LlamaOptions& o) { return nlohmann::json(o.gpu_layers); }},
      {"split_mode", "how several GPUs share a model: none (main_gpu alone), layer (the default) or row", Kind::choice,
       {"none", "layer", "row"},
       [](LlamaOptions& o, const nlohmann::json& v, const std::string& w) {
         const std::string m = v.is_string() ? v.get<std::string>() : "";
         if (m != "none" && m != "layer" && m != "row") throw detail::option_type_error(w, "split_mode", v, "none, layer or row");
         o.split_mode = m == "none" ? SplitMode::none : m == "layer" ? SplitMode::layer : SplitMode::row;
       },
       [](const LlamaOptions& o) { return nlohmann::json(to_string(o.split_mode)); }},
      {"main_gpu", "the GPU that holds the model with split_mode none (an index among the GPUs; default 0)", Kind::integer, {},
       [](LlamaOptions& o, const nlohmann::json& v, const std::string& w) { o.main_gpu = detail::option_integer(v, w, "main_gpu"); },
       [](const LlamaOptions& o) { return nlohmann::json(o.main_gpu); }},
      {"tensor_split", "each GPU's share of the model, e.g. 3,1 (default: by free memory)", Kind::shares, {},
       [](LlamaOptions& o, const nlohmann::json& v, const std::string& w) {
         if (!v.is_array()) throw detail::option_type_error(w, "tensor_split", v, "a list of shares");
         o.tensor_split.clear();
         for (const auto& x : v) {
           if (!x.is_number() || !(x.get<double>() >= 0.0)) throw detail::option_type_error(w, "tensor_split", v, "a list of shares >= 0");
           o.tensor_split.push_back(x.get<float>());
         }
       },
       [](const LlamaOptions& o) { return nlohmann::json(o.tensor_split); }},
      {"kv_offload", "the KV cache on the GPU with its layers (the default; off: the KV cache in host memory)",
       Kind::switch_off, {},
       [](LlamaOptions& o, const nlohmann::json& v, const std::string& w) {
         if (!v.is_boolean()) throw detail::option_type_error(w, "kv_offload", v, "true or false");
         o.kv_offload = v.get<bool>();
       },
       [](const LlamaOptions& o) { return nlohmann::json(o.kv_offload); }},
  };
  return list;
}

// The options with `patch`'s fields set (an object of described fields); `where` names it in errors.
inline LlamaOptions with_placement(LlamaOptions o, const nlohmann::json& patch, const std::string& where) {
  if (!patch.is_object()) throw ConfigError(where + ": model options must be an object, got " + patch.dump());
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    const LlamaOptionDescription* found = nullptr;
    for (const auto& d : llama_placement_options())
      if (d.name == it.key()) found = &d;
    if (!found) throw ConfigError(where + ": unknown model option '" + it.key() + "'");
    found->read(o, it.value(), where);
  }
  return o;
}

inline nlohmann::json placement_json(const LlamaOptions& o) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& d : llama_placement_options()) out[std::string(d.name)] = d.write(o);
  return out;
}

}  // namespace wsd
