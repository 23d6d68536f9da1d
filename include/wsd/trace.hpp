#pragma once
// The result of one response with its trace (spec, "Trace a run must be able to report"), as JSON.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "wsd/config.hpp"
#include "wsd/types.hpp"
#include "wsd/errors.hpp"

namespace wsd {

// Seconds spent per component; decoder = total - weak - strong (the decoder's own code).
struct Timing {
  double weak_s = 0.0;
  double strong_s = 0.0;
  double decoder_s = 0.0;
  double total_s = 0.0;
  double strong_write_s = 0.0;  // the part of strong_s spent writing the continuation; the rest is reading
  bool operator==(const Timing&) const = default;
};

struct Result {
  std::string id;
  Mode mode = Mode::online;
  std::string text;                 // the answer: answer prefix + accepted draft + continuation, cut at the first stop string
  std::string answer_prefix;        // the answer's given start (a last message from the assistant), not drafted
  bool cancelled() const { return reason == DraftEnd::cancelled || continuation_reason == ContinuationEnd::cancelled; }
  long accept_index = -1;           // index of the last kept drafted strong token; -1: none kept
  DraftEnd reason = DraftEnd::none; // switch, or how the draft ended when no switch happened
  std::string draft_text;           // the weak model's draft, as far as it was written
  std::vector<Token> draft_tokens;  // drafted strong tokens that were scored
  std::vector<double> probs;        // p_k for each of them
  std::vector<double> window_means; // g_k for each of them (0 before a full window)
  std::string accepted_text;        // text of d_0..d_accept
  std::string continuation_text;
  std::vector<Token> continuation_tokens;
  ContinuationEnd continuation_reason = ContinuationEnd::length;  // eos, stop, length or cancelled
  std::size_t weak_tokens = 0;      // tokens the weak model generated
  std::size_t strong_processed = 0;    // tokens the strong model processed (prompt, draft, re-reads, its own)
  std::size_t strong_generated = 0; // tokens the strong model wrote
  Timing timing;
  nlohmann::json config = nlohmann::json::object();
};

inline std::string to_string(DraftEnd r) {
  switch (r) {
    case DraftEnd::switched: return "switch";
    case DraftEnd::eos: return "eos";
    case DraftEnd::stop: return "stop";
    case DraftEnd::length: return "length";
    case DraftEnd::cancelled: return "cancelled";
    case DraftEnd::none: break;
  }
  return "none";
}

inline DraftEnd draft_end_from_string(const std::string& s) {
  for (DraftEnd r : {DraftEnd::switched, DraftEnd::eos, DraftEnd::stop, DraftEnd::length, DraftEnd::cancelled, DraftEnd::none})
    if (to_string(r) == s) return r;
  throw InputError("switch.reason = \"" + s + "\" is not switch, eos, stop, length, cancelled or none");
}

inline std::string to_string(ContinuationEnd r) {
  switch (r) {
    case ContinuationEnd::eos: return "eos";
    case ContinuationEnd::stop: return "stop";
    case ContinuationEnd::length: return "length";
    case ContinuationEnd::cancelled: return "cancelled";
  }
  return "length";
}

inline ContinuationEnd continuation_end_from_string(const std::string& s) {
  for (ContinuationEnd r : {ContinuationEnd::eos, ContinuationEnd::stop, ContinuationEnd::length, ContinuationEnd::cancelled})
    if (to_string(r) == s) return r;
  throw InputError("continuation.reason = \"" + s + "\" is not eos, stop, length or cancelled");
}

inline nlohmann::json to_json(const Result& r) {
  nlohmann::json j = {{"id", r.id},
          {"text", r.text},
          {"mode", to_string(r.mode)},
          {"switch", {{"index", r.accept_index}, {"reason", to_string(r.reason)}}},
          {"draft",
           {{"text", r.draft_text},
            {"strong_tokens", r.draft_tokens},
            {"probs", r.probs},
            {"window_means", r.window_means},
            {"accepted_text", r.accepted_text}}},
          {"continuation", {{"text", r.continuation_text}, {"tokens", r.continuation_tokens}, {"reason", to_string(r.continuation_reason)}}},
          {"tokens", {{"weak", r.weak_tokens}, {"strong_processed", r.strong_processed}, {"strong_generated", r.strong_generated}}},
          {"timing",
           {{"weak_s", r.timing.weak_s}, {"strong_s", r.timing.strong_s}, {"decoder_s", r.timing.decoder_s},
            {"total_s", r.timing.total_s}, {"strong_write_s", r.timing.strong_write_s}}},
          {"config", r.config}};
  if (!r.answer_prefix.empty()) j["answer_prefix"] = r.answer_prefix;
  return j;
}

// The answer's length in strong tokens: the kept draft and the continuation.
inline std::size_t answer_tokens(const Result& r) {
  return static_cast<std::size_t>(std::max(0L, r.accept_index + 1)) + r.strong_generated;
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
    if (mode != "online" && mode != "offline") throw InputError("result record: mode = \"" + mode + "\" is not online or offline");
    r.mode = mode == "online" ? Mode::online : Mode::offline;
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
                at(tm, "timing.decoder_s", "decoder_s").get<double>(), at(tm, "timing.total_s", "total_s").get<double>(),
                tm.value("strong_write_s", 0.0)};
    r.config = at(j, "config", "config");
    r.answer_prefix = j.value("answer_prefix", std::string());
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw InputError(std::string("result record: a field has the wrong type: ") + e.what());
  }
}

}  // namespace wsd
