// Every setting is described once (wsd::Field): its JSON field, its flag, whether a request may set
// it and its validation are all derived from that description. These tests walk the descriptions,
// so a new setting is covered without a new test: each one reads back from JSON, from its flag and
// (where allowed) from a request, and a value out of its range is refused naming it.
#include <catch2/catch.hpp>
#include <wsd/wsd.hpp>
#include <wsd/providers/llama/options_json.hpp>
#include <wsd/serve/chat_api.hpp>

#include <string>
#include <vector>

#include "../examples/tools/config_flags.hpp"
#include "../examples/tools/placement_flags.hpp"

using nlohmann::json;

namespace {

json as_json(const wsd::FieldValue& v) {
  return std::visit([](const auto& x) { return json(x); }, v);
}

// A valid value of `f` other than `current`.
template <class Owner>
wsd::FieldValue other_value(const wsd::Field<Owner>& f, const wsd::FieldValue& current) {
  using K = wsd::FieldKind;
  const double now = wsd::detail::as_number(current);
  switch (f.kind) {
    case K::count:
    case K::integer: {
      double v = now + 1;
      if (!f.range.accepts(v)) v = now - 1;
      if (f.kind == K::count) return static_cast<std::uint64_t>(v);
      return static_cast<std::int64_t>(v);
    }
    case K::real:
      for (double v : {0.5, 0.25, 0.75, 1.5, 2.0})
        if (v != now && f.range.accepts(v)) return v;
      FAIL("no test value for " << f.name);
      return 0.0;
    case K::choice:
      for (const auto& c : f.choices)
        if (wsd::FieldValue(c) != current) return c;
      FAIL("a choice with one name: " << f.name);
      return std::string();
    case K::boolean:
      return !std::get<bool>(current);
    case K::texts:
      return std::vector<std::string>{"<end>", "###"};
    case K::reals:
      return std::vector<double>{3.0, 1.0};
  }
  return false;
}

// The value as a command line gives it: "--flag 0.5", "--weak-no-flag", "--flag a b", "--flag 3,1".
template <class Owner>
std::string command_line(const wsd::Field<Owner>& f, const std::string& prefix, const wsd::FieldValue& v) {
  const json j = as_json(v);
  if (f.kind == wsd::FieldKind::boolean) return "--" + prefix + (j.get<bool>() ? "" : "no-") + f.flag;
  std::string out = "--" + prefix + f.flag;
  if (j.is_array()) {
    std::string sep = " ";
    for (const auto& e : j) {
      out.append(sep).append(e.is_string() ? e.get<std::string>() : e.dump());
      if (f.kind == wsd::FieldKind::reals) sep = ",";
    }
    return out;
  }
  return out.append(" ").append(j.is_string() ? j.get<std::string>() : j.dump());
}

// The top-level JSON of a dotted name: "draft.temperature" = 1 -> {"draft": {"temperature": 1}}.
json nested(const std::string& name, const json& v) {
  json out = json::object();
  out[wsd::detail::field_pointer(name)] = v;
  return out;
}

}  // namespace

TEST_CASE("every configuration field reads back from JSON and is written where it was read", "[fields]") {
  const json defaults = wsd::to_json(wsd::Config{});
  for (const auto& f : wsd::config_fields()) {
    INFO("field " << f.name);
    CHECK(defaults.contains(wsd::detail::field_pointer(f.name)));
    const wsd::FieldValue v = other_value(f, f.get(wsd::Config{}));
    const wsd::Config c = wsd::config_from_json(nested(f.name, as_json(v)), "cfg.json");
    CHECK(as_json(f.get(c)) == as_json(v));
    CHECK(wsd::to_json(c).at(wsd::detail::field_pointer(f.name)) == as_json(v));
  }
}

TEST_CASE("a number out of a field's range is refused naming the field and the value", "[fields]") {
  int checked = 0;
  for (const auto& f : wsd::config_fields()) {
    if (f.kind != wsd::FieldKind::real && f.kind != wsd::FieldKind::count) continue;
    const double below = f.range.min_open ? f.range.min : f.range.min - 1;
    if (f.kind == wsd::FieldKind::count && below < 0) continue;  // a negative count is refused as not a count
    INFO("field " << f.name);
    const json value = f.kind == wsd::FieldKind::count ? json(static_cast<std::uint64_t>(below)) : json(below);
    CHECK_THROWS_WITH(wsd::config_from_json(nested(f.name, value), "cfg.json"),
                      Catch::StartsWith("cfg.json: " + f.name + " = " + wsd::format_number(below) + " "));
    ++checked;
  }
  CHECK(checked >= 8);
}

TEST_CASE("every configuration field with a flag is set by its flag, and the flags differ", "[fields]") {
  std::vector<std::string> flags;
  for (const auto& f : wsd::config_fields()) {
    if (f.flag.empty()) continue;
    flags.push_back(f.flag);
    const wsd::FieldValue v = other_value(f, f.get(wsd::Config{}));
    const std::string line = command_line(f, "", v);
    INFO("command line: " << line);
    CLI::App app;
    wsd::tools::ConfigFlags config_flags(app, wsd::Config{});
    REQUIRE_NOTHROW(app.parse(line, false));
    CHECK(as_json(f.get(config_flags.resolve())) == as_json(v));
  }
  std::sort(flags.begin(), flags.end());
  CHECK(std::adjacent_find(flags.begin(), flags.end()) == flags.end());
  CHECK(flags.size() + 1 == wsd::config_fields().size());  // all but shared_vocabulary (wsd-generate's --shared-vocab)
}

TEST_CASE("a request's wsd object sets the fields described as per-request and refuses the others", "[fields]") {
  int settable = 0;
  for (const auto& f : wsd::config_fields()) {
    const wsd::FieldValue v = other_value(f, f.get(wsd::Config{}));
    const json wsd_object = nested(f.name, as_json(v));
    const std::string top = wsd_object.begin().key();
    INFO("wsd: " << wsd_object.dump());
    const json body = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"wsd", wsd_object}};
    if (f.per_request) {
      ++settable;
      const auto r = wsd::serve::parse_chat_request(body, wsd::Config{}, "wsd", 4096);
      CHECK(as_json(f.get(r.config)) == as_json(v));
    } else {
      try {
        wsd::serve::parse_chat_request(body, wsd::Config{}, "wsd", 4096);
        FAIL("accepted");
      } catch (const wsd::serve::ApiError& e) {
        CHECK(e.status == 400);
        CHECK(e.param == "wsd." + top);
        CHECK_THAT(e.what(), Catch::Contains("cannot be set per request"));
      }
    }
  }
  CHECK(settable == 4 + 1 + static_cast<int>(wsd::switch_rule_parameters().size()));  // limits, the rule, its parameters
}

TEST_CASE("each model option reads back from JSON and from its flags, for both models or one", "[fields]") {
  const wsd::LlamaOptions defaults;
  for (const auto& f : wsd::llama_placement_fields()) {
    INFO("option " << f.name);
    const wsd::FieldValue v = other_value(f, f.get(defaults));
    CHECK(as_json(f.get(wsd::with_placement(defaults, nested(f.name, as_json(v)), "options"))) == as_json(v));
    CHECK(wsd::placement_json(defaults).contains(f.name));
    for (const std::string whose : {"", "weak-", "strong-"}) {
      CLI::App app;
      wsd::tools::PlacementFlags flags(app);
      const std::string line = command_line(f, whose, v);
      INFO("command line: " << line);
      REQUIRE_NOTHROW(app.parse(line, false));
      CHECK((as_json(f.get(flags.weak(defaults))) == as_json(v)) == (whose != "strong-"));
      CHECK((as_json(f.get(flags.strong(defaults))) == as_json(v)) == (whose != "weak-"));
    }
  }
  CHECK_THROWS_WITH(wsd::with_placement(defaults, {{"gpu_layers", -2}}, "options"),
                    "options: gpu_layers = -2 is not in [-1, 2147483647]");
  CHECK_THROWS_WITH(wsd::with_placement(defaults, {{"tensor_split", {1, -1}}}, "options"),
                    "options: tensor_split = -1 must be at least 0");
}

TEST_CASE("a mode that is neither online nor offline is refused where it is set, not run as the drafter alone", "[fields]") {
  const auto* mode = wsd::find_field(wsd::limits_fields(), "mode");
  REQUIRE(mode != nullptr);
  wsd::Limits l;
  mode->set(l, wsd::FieldValue(std::string("offline")));
  CHECK(l.mode == wsd::Mode::offline);
  for (const std::string bad : {"weak_only", "Online", ""}) {
    INFO(bad);
    try {
      mode->set(l, wsd::FieldValue(bad));
      FAIL("accepted");
    } catch (const wsd::ConfigError& e) {
      CHECK_THAT(e.what(), Catch::Contains("mode = \"" + bad + "\" is not one of online, offline"));
    }
    CHECK(l.mode == wsd::Mode::offline);  // unchanged
  }
}
