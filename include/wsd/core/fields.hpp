#pragma once
// A setting described once: its name, help, kind, valid values, and how it is read from and
// written to the object that holds it. Configuration files (json/fields.hpp), the tools' flags
// (examples/tools/field_flags.hpp), wsd-server's per-request fields (serve/chat_api.hpp) and
// validation are all derived from these descriptions, so a new setting is one description.
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "wsd/core/errors.hpp"
#include "wsd/core/number_range.hpp"
#include "wsd/core/settings.hpp"
#include "wsd/core/strings.hpp"

namespace wsd {

// count: a non-negative integer; integer: a whole number of either sign; real: a number;
// boolean; choice: one of a list of names; texts: a list of non-empty strings; reals: a list of numbers.
enum class FieldKind { count, integer, real, boolean, choice, texts, reals };

// The value of a field, as the trace records settings (bool, int64, uint64, double, string, strings, reals).
using FieldValue = Setting::Value;

// One setting of an Owner (a Config, a LlamaOptions, ...).
template <class Owner>
struct Field {
  std::string name{};  // the JSON field; "draft.temperature" for a field of a part
  std::string flag{};  // the tools' flag without "--" (empty: no flag)
  std::string help{};
  FieldKind kind = FieldKind::real;
  NumberRange range{};               // a number's, or each element's of a list of numbers
  std::vector<std::string> choices{};  // a choice's names
  std::string item = "string";       // what an element of a list of strings is, for errors
  bool per_request = false;          // a request to wsd-server may set it (its "wsd" object)
  bool traced_at_default = true;     // false: the trace records it only when it is set otherwise
  std::function<FieldValue(const Owner&)> get{};
  std::function<void(Owner&, const FieldValue&)> set{};
};

namespace detail {
// A number held in a field value as a double (for its range); nullopt-like NaN for a non-number.
inline double as_number(const FieldValue& v) {
  return std::visit(
      [](const auto& x) -> double {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>)
          return static_cast<double>(x);
        else
          return std::numeric_limits<double>::quiet_NaN();
      },
      v);
}
inline std::string show(const FieldValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>)
          return x ? "true" : "false";
        else if constexpr (std::is_same_v<T, std::string>)
          return "\"" + x + "\"";
        else if constexpr (std::is_arithmetic_v<T>)
          return format_number(static_cast<double>(x));
        else
          return std::to_string(x.size()) + " values";
      },
      v);
}
}  // namespace detail

// Throws ConfigError "WHERE: NAME = VALUE WHY" when v is not a valid value of f.
template <class Owner>
void check(const Field<Owner>& f, const FieldValue& v, std::string_view where) {
  auto fail = [&](const std::string& shown, const std::string& why) {
    throw ConfigError(std::string(where) + ": " + f.name + " = " + shown + " " + why, f.name);
  };
  switch (f.kind) {
    case FieldKind::count:
    case FieldKind::integer:
    case FieldKind::real: {
      const double x = detail::as_number(v);
      if (f.kind != FieldKind::real && std::isfinite(x) && x != std::floor(x)) fail(detail::show(v), "is not a whole number");
      if (!f.range.accepts(x)) fail(detail::show(v), f.range.describe());
      return;
    }
    case FieldKind::choice: {
      const auto* s = std::get_if<std::string>(&v);
      bool known = false;
      for (const auto& c : f.choices) known = known || (s && *s == c);
      if (!known) fail(detail::show(v), "is not one of " + detail::joined(f.choices));
      return;
    }
    case FieldKind::texts:
      if (const auto* list = std::get_if<std::vector<std::string>>(&v))
        for (const auto& s : *list)
          if (s.empty()) fail("\"\"", "holds an empty " + f.item);
      return;
    case FieldKind::reals:
      if (const auto* list = std::get_if<std::vector<double>>(&v))
        for (double x : *list)
          if (!f.range.accepts(x)) fail(format_number(x), f.range.describe());
      return;
    case FieldKind::boolean:
      return;
  }
}

// Every field of `o` checked against its description.
template <class Owner>
void check_fields(std::span<const Field<Owner>> fields, const Owner& o, std::string_view where) {
  for (const auto& f : fields) check(f, f.get(o), where);
}

// What the trace records of `o`: each field's name and value (core/settings.hpp), in their order.
template <class Owner>
void describe_fields(std::span<const Field<Owner>> fields, const Owner& o, Settings& out) {
  for (const auto& f : fields) {
    FieldValue v = f.get(o);
    if (!f.traced_at_default && v == f.get(Owner{})) continue;
    out.push_back({f.name, std::move(v)});
  }
}

// The field of that name, or nullptr.
template <class Owner>
const Field<Owner>* find_field(std::span<const Field<Owner>> fields, std::string_view name) {
  for (const auto& f : fields)
    if (f.name == name) return &f;
  return nullptr;
}

// Whether `name` is a part that holds fields ("draft" for "draft.temperature").
template <class Owner>
bool is_part(std::span<const Field<Owner>> fields, std::string_view name) {
  for (const auto& f : fields)
    if (f.name.size() > name.size() && f.name.starts_with(name) && f.name[name.size()] == '.') return true;
  return false;
}

// A member's value as a field value, and back (numbers converted, lists of floats as doubles).
template <class T>
FieldValue to_field_value(const T& x) {
  if constexpr (std::is_same_v<T, bool>)
    return x;
  else if constexpr (std::is_floating_point_v<T>)
    return static_cast<double>(x);
  else if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T>)
    return static_cast<std::uint64_t>(x);
  else if constexpr (std::is_integral_v<T>)
    return static_cast<std::int64_t>(x);
  else if constexpr (std::is_same_v<T, std::vector<float>>)
    return std::vector<double>(x.begin(), x.end());
  else
    return x;  // std::string, std::vector<std::string>, std::vector<double>
}
template <class T>
T from_field_value(const FieldValue& v) {
  if constexpr (std::is_arithmetic_v<T>) {
    return std::visit(
        [](const auto& x) -> T {
          using X = std::decay_t<decltype(x)>;
          if constexpr (std::is_arithmetic_v<X>)
            return static_cast<T>(x);
          else
            throw ConfigError("a number or boolean was expected");
        },
        v);
  } else if constexpr (std::is_same_v<T, std::vector<float>>) {
    const auto& d = std::get<std::vector<double>>(v);
    return T(d.begin(), d.end());
  } else {
    return std::get<T>(v);
  }
}

// A field over a data member: field(&Owner::member, {name, flag, help, kind, ...}).
template <class Owner, class T>
Field<Owner> member_field(T Owner::*member, Field<Owner> f) {
  f.get = [member](const Owner& o) { return to_field_value(o.*member); };
  f.set = [member](Owner& o, const FieldValue& v) { o.*member = from_field_value<T>(v); };
  return f;
}

// A part's fields as fields of the whole that holds it (`part(whole)` is the part, for a const
// and a mutable whole alike): names get `name_prefix` ("draft."), flags `flag_prefix`
// ("continuation-"), help `help_prefix`.
template <class Whole, class Part, class Access>
std::vector<Field<Whole>> nest_fields(std::span<const Field<Part>> fields, Access part, const std::string& name_prefix,
                                      const std::string& flag_prefix, const std::string& help_prefix = {}) {
  std::vector<Field<Whole>> out;
  for (const auto& f : fields) {
    Field<Whole> g;
    g.name = name_prefix + f.name;
    g.flag = f.flag.empty() ? std::string() : flag_prefix + f.flag;
    g.help = help_prefix + f.help;
    g.kind = f.kind;
    g.range = f.range;
    g.choices = f.choices;
    g.item = f.item;
    g.per_request = f.per_request;
    g.traced_at_default = f.traced_at_default;
    g.get = [part, get = f.get](const Whole& w) { return get(part(w)); };
    g.set = [part, set = f.set](Whole& w, const FieldValue& v) { set(part(w), v); };
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace wsd
