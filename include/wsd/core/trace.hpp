#pragma once
// The decoder's own instrumentation and record of one response: it times each call the decoder
// makes to a part (weak, strong), counts the tokens they read and wrote, and records what the
// rule judged and where the draft ended. It only records: every decision is the decoder's.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "wsd/core/concepts.hpp"
#include "wsd/core/conversation.hpp"
#include "wsd/core/result.hpp"
#include "wsd/core/stream.hpp"
#include "wsd/core/task.hpp"
#include "wsd/core/timing.hpp"
#include "wsd/core/stop_strings.hpp"

namespace wsd {

// Where the draft ends: how many drafted strong tokens are kept, and why.
struct Handoff {
  DraftEnd reason = DraftEnd::switched;
  std::size_t kept = 0;
};

class Trace {
 public:
  // `config`: what the decoder and its parts say they run with.
  Trace(const Conversation& c, Mode mode, Settings config) {
    validate_conversation(c);
    r_.id = c.id;
    r_.answer_prefix = answer_prefix(c);
    r_.mode = mode;
    r_.config = std::move(config);
    enter();
  }

  // A stint of work begins or ends (the reference's passes may run apart): wall time between.
  void enter() { start_ = Clock::now(); }
  void leave() { r_.timing.total_s += std::chrono::duration<double>(Clock::now() - start_).count(); }

  // A call to the weak or the strong side, timed as that side's time: co_await trace.weak(f)
  // gives what f() gives once awaited (f may be synchronous, or return a Task or a model call).
  // With many conversations in flight the time includes the wait for the call's batch.
  template <class F>
  Task<awaited_t<F>> weak(F f) {
    return timed(r_.timing.weak_s, std::move(f));
  }
  template <class F>
  Task<awaited_t<F>> strong(F f) {
    return timed(r_.timing.strong_s, std::move(f));
  }
  // The strong side writing the continuation into `stream`: its time less the stream's own (the
  // stop-string hold-back and the caller's sinks).
  template <class F>
  Task<Continuation> strong_writes(const AnswerStream& stream, F f) {
    const double stream_before = stream.seconds();
    double seconds = 0.0;
    Continuation out = co_await timed(seconds, std::move(f));
    seconds -= stream.seconds() - stream_before;
    r_.timing.strong_s += seconds;
    r_.timing.strong_write_s += seconds;
    r_.continuation_tokens = out.tokens;
    co_return out;
  }

  // The weak model generated n more tokens.
  void generated(std::size_t n) { r_.weak_tokens += n; }
  // The strong sequence, holding `held` tokens of which `context` are a prefix of what it is given
  // now, reads context + `targets`: what it had not read yet counts as processed.
  void read(std::size_t& held, std::size_t context, std::size_t targets) {
    r_.strong_processed += context - std::min(held, context) + targets;
    held = context + targets;
  }

  // The rule judged p_k: its answer, and the statistic it judged by when it has one. The statistics
  // are indexed by position as the p_k are: positions before a rule's first statistic (a window not
  // yet full) hold 0, as the reference writes the window mean there; a rule without one has none.
  void judged(double p, const Judgement& j) {
    r_.probs.push_back(p);
    if (!j.statistic) return;
    r_.window_means.resize(r_.probs.size() - 1, 0.0);
    r_.window_means.push_back(*j.statistic);
  }
  // Forgets every judgement (re-tokenizing changed judged tokens) and returns the p_k it had.
  std::vector<double> forget_judged() {
    r_.window_means.clear();
    return std::exchange(r_.probs, {});
  }

  // The weak model's draft once it has ended.
  void drafted(std::string_view text) { r_.draft_text.assign(text); }

  // Where the draft ended and what was kept (`scored`: the drafted tokens the trace lists, all of
  // them for the reference's form).
  void keep_draft(const Handoff& h, std::span<const Token> scored, std::string accepted_text) {
    r_.accept_index = static_cast<long>(h.kept) - 1;
    r_.reason = h.reason;
    r_.draft_tokens.assign(scored.begin(), scored.end());
    r_.accepted_text = std::move(accepted_text);
  }
  const std::string& accepted_text() const { return r_.accepted_text; }

  Result finish(const Continuation& continuation, const StopStrings& stops) {
    r_.continuation_text = continuation.text;
    r_.continuation_tokens = continuation.tokens;
    r_.continuation_reason = continuation.reason;
    r_.text = r_.answer_prefix + std::string(stops.cut(r_.accepted_text + r_.continuation_text));
    r_.strong_generated = r_.continuation_tokens.size();
    r_.strong_processed += r_.strong_generated;
    return done();
  }

  // The weak model wrote the whole answer (the weak-only baseline).
  Result finish_weak_only(DraftEnd reason, std::string_view draft_text) {
    r_.reason = reason;
    drafted(draft_text);
    r_.text = r_.answer_prefix + r_.draft_text;
    return done();
  }

 private:
  Result done() {
    leave();
    r_.timing.decoder_s = std::max(0.0, r_.timing.total_s - r_.timing.weak_s - r_.timing.strong_s);
    return std::move(r_);
  }

  // Awaits f() and adds the time it took to `seconds`.
  template <class F, class R = awaited_t<F>>
  static Task<R> timed(double& seconds, F f) {
    const ScopedTimer timer(seconds);
    if constexpr (std::is_void_v<R>)
      co_await awaited(f);
    else
      co_return co_await awaited(f);
  }

  Clock::time_point start_;
  Result r_;
};

}  // namespace wsd
