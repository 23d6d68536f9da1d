#pragma once
// The result of one response with its trace (spec, "Trace a run must be able to report"); as
// JSON: wsd/json/result.hpp.
#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "wsd/core/errors.hpp"
#include "wsd/core/limits.hpp"
#include "wsd/core/settings.hpp"
#include "wsd/core/types.hpp"

namespace wsd {

// Seconds spent per component, measured by the decoder around its calls to each part;
// decoder = total - weak - strong (the decoder's own code).
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
  std::string text;           // the answer: answer prefix + accepted draft + continuation, cut at the first stop string
  std::string answer_prefix;  // the answer's given start (a last message from the assistant), not drafted
  bool cancelled() const { return reason == DraftEnd::cancelled || continuation_reason == ContinuationEnd::cancelled; }
  long accept_index = -1;            // index of the last kept drafted strong token; -1: none kept
  DraftEnd reason = DraftEnd::none;  // switch, or which limit or end stopped the draft when no switch happened
  std::string draft_text;            // the weak model's draft, as far as it was written
  std::vector<Token> draft_tokens;   // drafted strong tokens that were scored
  std::vector<double> probs;         // p_k for each of them
  std::vector<double>
      window_means;           // the rule's statistic at each position of probs (g_k for the paper's rule; 0 before
                              // a window is full; empty for rules without one)
  std::string accepted_text;  // text of d_0..d_accept
  std::string continuation_text;
  std::vector<Token> continuation_tokens;
  ContinuationEnd continuation_reason = ContinuationEnd::length;  // eos, stop, length or cancelled
  std::size_t weak_tokens = 0;                                    // tokens the weak model generated
  std::size_t strong_processed = 0;  // tokens the strong model processed (prompt, draft, re-reads, its own)
  std::size_t strong_generated = 0;  // tokens the strong model wrote
  Timing timing;
  Settings config;  // what ran: the decoder's limits and each part's own parameters
};

inline std::string to_string(DraftEnd r) {
  switch (r) {
    case DraftEnd::switched:
      return "switch";
    case DraftEnd::eos:
      return "eos";
    case DraftEnd::stop:
      return "stop";
    case DraftEnd::length:
      return "length";
    case DraftEnd::cancelled:
      return "cancelled";
    case DraftEnd::max_tokens:
      return "max_tokens";
    case DraftEnd::none:
      break;
  }
  return "none";
}

inline DraftEnd draft_end_from_string(const std::string& s) {
  for (DraftEnd r :
       {DraftEnd::switched, DraftEnd::eos, DraftEnd::stop, DraftEnd::length, DraftEnd::cancelled, DraftEnd::max_tokens,
        DraftEnd::none})
    if (to_string(r) == s) return r;
  throw InputError("switch.reason = \"" + s + "\" is not switch, eos, stop, length, cancelled, max_tokens or none");
}

inline std::string to_string(ContinuationEnd r) {
  switch (r) {
    case ContinuationEnd::eos:
      return "eos";
    case ContinuationEnd::stop:
      return "stop";
    case ContinuationEnd::length:
      return "length";
    case ContinuationEnd::cancelled:
      return "cancelled";
  }
  return "length";
}

inline ContinuationEnd continuation_end_from_string(const std::string& s) {
  for (ContinuationEnd r :
       {ContinuationEnd::eos, ContinuationEnd::stop, ContinuationEnd::length, ContinuationEnd::cancelled})
    if (to_string(r) == s) return r;
  throw InputError("continuation.reason = \"" + s + "\" is not eos, stop, length or cancelled");
}

// Whether max_tokens ended the answer (OpenAI's finish_reason "length"): the strong model used its
// whole budget (a kept draft may fill it) and no stop string ended the text first; for the drafter
// alone, its limit ended the draft.
inline bool ended_by_max_tokens(const Result& r) {
  if (r.mode == Mode::weak_only) return r.reason == DraftEnd::length;
  const bool stopped_in_text =
      r.text.size() < r.answer_prefix.size() + r.accepted_text.size() + r.continuation_text.size();
  return r.continuation_reason == ContinuationEnd::length && !stopped_in_text;
}

// The answer's length in strong tokens: the kept draft and the continuation.
inline std::size_t answer_tokens(const Result& r) {
  return static_cast<std::size_t>(std::max(0L, r.accept_index + 1)) + r.strong_generated;
}

}  // namespace wsd
