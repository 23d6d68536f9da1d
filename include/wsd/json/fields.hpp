#pragma once
// Described settings (core/fields.hpp) as JSON: an object's fields read, each checked by its
// kind and range as it is read (errors name the source, the field and the value), and written.
// A dotted name is a nested object ("draft.temperature" -> {"draft": {"temperature": ...}}).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "wsd/core/errors.hpp"
#include "wsd/core/fields.hpp"

namespace wsd {

namespace detail {
inline nlohmann::json::json_pointer field_pointer(const std::string& dotted) {
  std::string pointer = "/" + dotted;
  for (auto& c : pointer)
    if (c == '.') c = '/';
  return nlohmann::json::json_pointer(pointer);
}

// A JSON value as the value of `f`, its type checked (its range is check()'s).
template <class Owner>
FieldValue field_value_from_json(const Field<Owner>& f, const nlohmann::json& v, const std::string& where) {
  auto fail = [&](const std::string& what) {
    return ConfigError(where + ": " + f.name + " = " + v.dump() + " " + what, f.name);
  };
  switch (f.kind) {
    case FieldKind::count:
      if (v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0)) return v.get<std::uint64_t>();
      throw fail("is not a non-negative integer");
    case FieldKind::integer:
      if (v.is_number_integer() && !v.is_number_unsigned()) return v.get<std::int64_t>();
      if (v.is_number_unsigned() && v.get<std::uint64_t>() <= static_cast<std::uint64_t>(INT64_MAX))
        return static_cast<std::int64_t>(v.get<std::uint64_t>());
      throw fail("is not a whole number");
    case FieldKind::real:
      if (v.is_number()) return v.get<double>();
      throw fail("is not a number");
    case FieldKind::boolean:
      if (v.is_boolean()) return v.get<bool>();
      throw fail("is not true or false");
    case FieldKind::choice:
      if (v.is_string()) return v.get<std::string>();
      throw fail("is not one of " + joined(f.choices));
    case FieldKind::texts: {
      if (!v.is_array()) throw fail("is not a list of strings");
      std::vector<std::string> out;
      for (const auto& e : v) {
        if (!e.is_string()) throw ConfigError(where + ": " + f.name + " holds " + e.dump() + ", not a string", f.name);
        out.push_back(e.get<std::string>());
      }
      return out;
    }
    case FieldKind::reals: {
      if (!v.is_array()) throw fail("is not a list of numbers");
      std::vector<double> out;
      for (const auto& e : v) {
        if (!e.is_number()) throw ConfigError(where + ": " + f.name + " holds " + e.dump() + ", not a number", f.name);
        out.push_back(e.get<double>());
      }
      return out;
    }
  }
  throw fail("has an unknown kind");
}

template <class Owner>
void read_fields_at(std::span<const Field<Owner>> fields, const nlohmann::json& j, Owner& o, const std::string& where,
                    const std::string& prefix) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string name = prefix + it.key();
    if (const Field<Owner>* f = find_field(fields, name)) {
      const FieldValue v = field_value_from_json(*f, it.value(), where);
      check(*f, v, where);
      f->set(o, v);
      continue;
    }
    if (!is_part(fields, name)) throw ConfigError(where + ": unknown field '" + name + "'", name);
    if (!it.value().is_object())
      throw ConfigError(where + ": " + name + " = " + it.value().dump() + " is not an object", name);
    read_fields_at(fields, it.value(), o, where, name + ".");
  }
}
}  // namespace detail

// Sets the fields a JSON object gives (others keep their values); unknown fields are errors.
template <class Owner>
void read_fields(std::span<const Field<Owner>> fields, const nlohmann::json& j, Owner& o, const std::string& where) {
  if (!j.is_object()) throw ConfigError(where + ": expected a JSON object, got " + j.dump());
  detail::read_fields_at(fields, j, o, where, "");
}

// Every field's value as a JSON object.
template <class Owner>
nlohmann::json fields_to_json(std::span<const Field<Owner>> fields, const Owner& o) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& f : fields) std::visit([&](const auto& v) { out[detail::field_pointer(f.name)] = v; }, f.get(o));
  return out;
}

}  // namespace wsd
