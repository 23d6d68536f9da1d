#pragma once
// Every wsd::Config field as a command-line flag, merged with a --config file by one mechanism:
// defaults, then the file's fields, then the flags given, each layer a JSON object read by
// wsd::config_from_json (so each value is checked once, and errors name where it came from).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>
#include <wsd/wsd.hpp>

#include "exit_codes.hpp"

namespace wsd::tools {

class ConfigFlags {
 public:
  // Adds the flags to `app`; `defaults` are the tool's own (e.g. shorter answers in a benchmark).
  ConfigFlags(CLI::App& app, Config defaults) : defaults_(std::move(defaults)) {
    app.add_option("--config", path_, "JSON configuration file (flags given on the command line override it)");
    flag<std::size_t>(app, "--draft-max-tokens", "/draft_max_tokens", "the drafter's limit");
    flag<std::size_t>(app, "--max-tokens", "/max_tokens", "accepted draft + continuation");
    flag<std::size_t>(app, "--chunk", "/chunk", "tokens drafted between scoring calls (online)");
    flag<std::string>(app, "--switch", "/switch_rule", "switch rule: " + switch_rule_list());
    for (const RuleParameter& p : switch_rule_parameters()) {  // each rule's parameters, as the rules describe them
      std::string name(p.name);
      std::replace(name.begin(), name.end(), '_', '-');
      const std::string help = std::string(p.help) + " (default " + format_number(p.default_value) + "; " + p.range() + ")";
      if (p.integer) flag<std::size_t>(app, "--" + name, "/" + std::string(p.name), help);
      else flag<double>(app, "--" + name, "/" + std::string(p.name), help);
    }
    for (const auto& [prefix, pointer, phase] : {std::tuple{"--", "/draft", "drafting"},
                                                 std::tuple{"--continuation-", "/continuation", "continuation"}}) {
      const std::string p = prefix, ptr = pointer, ph = phase;
      flag<double>(app, p + "temperature", ptr + "/temperature", ph + " temperature (0: greedy)");
      flag<double>(app, p + "top-p", ptr + "/top_p", ph + " nucleus mass");
      flag<std::size_t>(app, p + "top-k", ptr + "/top_k", ph + " top-k (0: off)");
      flag<std::uint64_t>(app, p + "seed", ptr + "/seed", ph + " random seed");
    }
    flag<double>(app, "--continuation-repetition-penalty", "/continuation/repetition_penalty",
                 "lowers the logits of tokens the strong model already wrote (1: off, as the reference; base models "
                 "loop)");
    flag<std::vector<std::string>>(app, "--weak-stop", "/weak_stop_strings", "the drafter's stop strings (replace the defaults)");
    flag<std::vector<std::string>>(app, "--strong-stop", "/strong_stop_strings", "the strong model's stop strings (replace the defaults)");
    app.add_option_function<std::string>(
           "--mode", [this](const std::string& v) { patch_["mode"] = v; },
           "online (this library) or offline (the reference's three passes)")
        ->check(CLI::IsMember({"online", "offline"}));
  }

  // The configuration: defaults, then the --config file's fields, then the flags given.
  Config resolve() const {
    nlohmann::json merged = to_json(defaults_);
    if (!path_.empty()) {
      const nlohmann::json file = read_config_json(path_);
      config_from_json(file, path_);  // checked on its own, so errors name the file
      merged.merge_patch(file);
    }
    merged.merge_patch(patch_);
    return config_from_json(merged, "command line");
  }

 private:
  template <class T>
  void flag(CLI::App& app, const std::string& name, const std::string& pointer, const std::string& help) {
    auto* opt = app.add_option_function<T>(
        name, [this, pointer](const T& v) { patch_[nlohmann::json::json_pointer(pointer)] = v; }, help);
    if constexpr (std::is_same_v<T, std::vector<std::string>>) opt->expected(1, -1);
  }

  Config defaults_;
  std::string path_;
  nlohmann::json patch_ = nlohmann::json::object();
};

}  // namespace wsd::tools
