#pragma once
// Every wsd::Config field with a flag (wsd::config_fields(), each described once) as a
// command-line flag, merged with a --config file by one mechanism:
// defaults, then the file's fields, then the flags given, each layer a JSON object read by
// wsd::config_from_json (so each value is checked once, and errors name where it came from).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <wsd/wsd.hpp>

#include "exit_codes.hpp"
#include "field_flags.hpp"

namespace wsd::tools {

class ConfigFlags {
 public:
  // Adds the flags to `app`; `defaults` are the tool's own (e.g. shorter answers in a benchmark).
  ConfigFlags(CLI::App& app, Config defaults) : defaults_(std::move(defaults)) {
    app.add_option("--config", path_, "JSON configuration file (flags given on the command line override it)");
    for (const Field<Config>& f : config_fields())  // every described setting that has a flag
      if (!f.flag.empty()) add_field_flag(app, f, "", f.help, defaults_, patch_);
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
  Config defaults_;
  std::string path_;
  nlohmann::json patch_ = nlohmann::json::object();
};

}  // namespace wsd::tools
