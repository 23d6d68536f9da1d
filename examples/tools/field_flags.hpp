#pragma once
// A described setting (wsd::Field, core/fields.hpp) as a command-line flag: its type from the
// field's kind, a choice checked against its names, the default in the help, and the value given
// written into a JSON patch at the field's name (read later by wsd::read_fields, which checks it).
#include <CLI/CLI.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>
#include <wsd/json/fields.hpp>

namespace wsd::tools {

// The default's text for a help line: "(default 0.8)".
inline std::string default_text(const FieldValue& v) {
  const nlohmann::json j = std::visit([](const auto& x) { return nlohmann::json(x); }, v);
  return "(default " + (j.is_string() ? j.get<std::string>() : j.dump()) + ")";
}

// Adds --PREFIXFLAG (a boolean on by default: --PREFIXno-FLAG) for `f`, writing into `patch`.
template <class Owner>
void add_field_flag(CLI::App& app, const Field<Owner>& f, const std::string& prefix, const std::string& help,
                    const Owner& defaults, nlohmann::json& patch) {
  const std::string flag = prefix + f.flag;
  nlohmann::json* target = &patch;
  const auto at = detail::field_pointer(f.name);
  const FieldValue def = f.get(defaults);
  const std::string text = help + " " + default_text(def);
  auto set = [target, at](auto v) { (*target)[at] = v; };
  switch (f.kind) {
    case FieldKind::count:
      app.add_option_function<std::uint64_t>("--" + flag, set, text);
      break;
    case FieldKind::integer:
      app.add_option_function<std::int64_t>("--" + flag, set, text);
      break;
    case FieldKind::real:
      app.add_option_function<double>("--" + flag, set, text);
      break;
    case FieldKind::choice:
      app.add_option_function<std::string>("--" + flag, set, text + ": one of " + detail::joined(f.choices))
          ->check(CLI::IsMember(f.choices));
      break;
    case FieldKind::texts:
      app.add_option_function<std::vector<std::string>>("--" + flag, set, text)->expected(1, -1);
      break;
    case FieldKind::reals:
      app.add_option_function<std::vector<double>>("--" + flag, set, text)->delimiter(',');
      break;
    case FieldKind::boolean:
      if (std::get<bool>(def))
        app.add_flag_callback("--" + prefix + "no-" + f.flag, [set] { set(false); }, help + " (on unless this flag is given)");
      else
        app.add_flag_callback("--" + flag, [set] { set(true); }, help);
      break;
  }
}

}  // namespace wsd::tools
