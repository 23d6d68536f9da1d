#pragma once
// A result with its trace as one JSON record, and back.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "wsd/core/result.hpp"
#include "wsd/json/settings.hpp"

namespace wsd {

inline nlohmann::json to_json(const Result& r) {
  nlohmann::json j = {
      {"id", r.id},
      {"text", r.text},
      {"mode", to_string(r.mode)},
      {"switch", {{"index", r.accept_index}, {"reason", to_string(r.reason)}}},
      {"draft",
       {{"text", r.draft_text},
        {"strong_tokens", r.draft_tokens},
        {"probs", r.probs},
        {"window_means", r.window_means},
        {"accepted_text", r.accepted_text}}},
      {"continuation",
       {{"text", r.continuation_text},
        {"tokens", r.continuation_tokens},
        {"reason", to_string(r.continuation_reason)}}},
      {"tokens",
       {{"weak", r.weak_tokens}, {"strong_processed", r.strong_processed}, {"strong_generated", r.strong_generated}}},
      {"timing",
       {{"weak_s", r.timing.weak_s},
        {"strong_s", r.timing.strong_s},
        {"decoder_s", r.timing.decoder_s},
        {"total_s", r.timing.total_s},
        {"strong_write_s", r.timing.strong_write_s}}},
      {"config", to_json(r.config)}};
  if (!r.answer_prefix.empty()) j["answer_prefix"] = r.answer_prefix;
  return j;
}

// Reads a record written by to_json; throws InputError naming the missing or mistyped field.
inline Result result_from_json(const nlohmann::json& j) {
  auto at = [&](const nlohmann::json& o, const char* path, const char* key) -> const nlohmann::json& {
    if (!o.is_object() || !o.contains(key)) throw InputError(std::string("result record: missing field ") + path);
    return o.at(key);
  };
  try {
    Result r;
    r.id = at(j, "id", "id").get<std::string>();
    r.text = at(j, "text", "text").get<std::string>();
    const auto mode = at(j, "mode", "mode").get<std::string>();
    const auto m = mode_from_string(mode);
    if (!m) throw InputError("result record: mode = \"" + mode + "\" is not online, offline or weak-only");
    r.mode = *m;
    const auto& sw = at(j, "switch", "switch");
    r.accept_index = at(sw, "switch.index", "index").get<long>();
    r.reason = draft_end_from_string(at(sw, "switch.reason", "reason").get<std::string>());
    const auto& d = at(j, "draft", "draft");
    r.draft_text = at(d, "draft.text", "text").get<std::string>();
    r.draft_tokens = at(d, "draft.strong_tokens", "strong_tokens").get<std::vector<Token>>();
    r.probs = at(d, "draft.probs", "probs").get<std::vector<double>>();
    r.window_means = at(d, "draft.window_means", "window_means").get<std::vector<double>>();
    r.accepted_text = at(d, "draft.accepted_text", "accepted_text").get<std::string>();
    const auto& c = at(j, "continuation", "continuation");
    r.continuation_text = at(c, "continuation.text", "text").get<std::string>();
    r.continuation_tokens = at(c, "continuation.tokens", "tokens").get<std::vector<Token>>();
    if (c.contains("reason")) r.continuation_reason = continuation_end_from_string(c.at("reason").get<std::string>());
    const auto& t = at(j, "tokens", "tokens");
    r.weak_tokens = at(t, "tokens.weak", "weak").get<std::size_t>();
    r.strong_processed = at(t, "tokens.strong_processed", "strong_processed").get<std::size_t>();
    r.strong_generated = at(t, "tokens.strong_generated", "strong_generated").get<std::size_t>();
    const auto& tm = at(j, "timing", "timing");
    r.timing = {at(tm, "timing.weak_s", "weak_s").get<double>(), at(tm, "timing.strong_s", "strong_s").get<double>(),
                at(tm, "timing.decoder_s", "decoder_s").get<double>(),
                at(tm, "timing.total_s", "total_s").get<double>(), tm.value("strong_write_s", 0.0)};
    r.config = settings_from_json(at(j, "config", "config"), "result record");
    r.answer_prefix = j.value("answer_prefix", std::string());
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw InputError(std::string("result record: a field has the wrong type: ") + e.what());
  }
}

}  // namespace wsd
