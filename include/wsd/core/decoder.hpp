#pragma once
// WeakToStrongDecoder: the weak drafter begins the answer, the strong model takes over at the
// switch point. decode(c, Mode::online) is this library's form; Mode::offline is the reference's.
#include <algorithm>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "wsd/core/concepts.hpp"
#include "wsd/core/conversation.hpp"
#include "wsd/core/limits.hpp"
#include "wsd/core/result.hpp"
#include "wsd/core/settings.hpp"
#include "wsd/core/stream.hpp"
#include "wsd/core/task.hpp"
#include "wsd/core/trace.hpp"

namespace wsd {

// The three policies composed at compile time, and the decoder's own limits.
template <WeakDrafterPolicy Weak, StrongModelPolicy Strong, SwitchPolicy Switch>
class WeakToStrongDecoder {
 public:
  WeakToStrongDecoder(Weak weak, Strong strong, Switch rule, Limits limits = {})
      : weak_(std::move(weak)), strong_(std::move(strong)), rule_(std::move(rule)), limits_(limits) {
    validate(limits_);
  }
  WeakToStrongDecoder(const WeakToStrongDecoder&) = delete;
  WeakToStrongDecoder& operator=(const WeakToStrongDecoder&) = delete;
  WeakToStrongDecoder(WeakToStrongDecoder&&) noexcept = default;

  // One conversation, each model call made at once on this thread, in the limits' mode or the one
  // given: online (drafts a chunk, scores its settled strong tokens in one call, applies the rule
  // as they arrive, stops drafting at the first switch and continues from the strong model's
  // cache), offline (the reference's three passes: the whole draft, its scores, then the strong
  // model re-reads prompt + kept draft and writes the rest) or weak-only (the drafter alone writes
  // the whole answer, up to max_tokens: a baseline).
  Result decode(const Conversation& c, const Stream& stream = {}) { return decode(c, limits_.mode, stream); }
  Result decode(const Conversation& c, Mode mode, const Stream& stream = {}) { return run_now(decode_task(c, mode, stream)); }

  // The same decode as a coroutine, for an engine loop that runs many in flight and batches their
  // calls. The conversation must outlive the task; the stream is the task's own copy.
  Task<Result> decode_task(const Conversation& c, Stream stream = {}) {
    return decode_task(c, limits_.mode, std::move(stream));
  }
  Task<Result> decode_task(const Conversation& c, Mode mode, Stream stream = {}) {
    if (mode == Mode::online) co_return co_await naming(c, online(c, stream));
    if (mode == Mode::offline) co_return co_await naming(c, offline(c, stream));
    co_return co_await naming(c, weak_only(c, stream));
  }

  // The reference's passes one at a time, for a driver that runs each pass over a whole set of
  // conversations before the next (wsd::decode_offline_batched, as the reference runs them in
  // vLLM); any decoder of the same configuration may run any pass. decode(c, Mode::offline) is
  // the three in a row. The conversation must outlive its OfflineWork.
  class OfflineWork;
  Task<OfflineWork> offline_draft(const Conversation& c, Stream stream = {}) {  // pass 1: the whole draft
    co_return co_await naming(c, draft_pass(c, stream));
  }
  Task<void> offline_score(OfflineWork& work) {  // pass 2: its scores and the switch
    return naming(*work.conversation_, score_pass(work));
  }
  Task<Result> offline_continue(OfflineWork& work, Stream stream = {}) {  // pass 3: re-read and continue
    co_return co_await naming(*work.conversation_, continue_pass(work, stream));
  }

  Weak& weak() { return weak_; }
  Strong& strong() { return strong_; }
  Switch& rule() { return rule_; }
  const Limits& limits() const { return limits_; }

  // What a trace records as its configuration: the limits, then what each part says of itself.
  // A weak-only run records only what it used: the budget, the chunk and the drafter.
  Settings settings(Mode mode) const {
    Settings out;
    Limits ran = limits_;
    ran.mode = mode;
    describe_fields(limits_fields(), ran, out);
    if (mode == Mode::weak_only) std::erase_if(out, [](const Setting& s) { return s.name == "draft_max_tokens"; });
    if (mode != Mode::weak_only) describe_part(rule_, out);
    describe_part(weak_, out);
    if (mode != Mode::weak_only) describe_part(strong_, out);
    return out;
  }

 private:
  // Errors name the conversation they happened in, once.
  template <class T>
  static Task<T> naming(const Conversation& c, Task<T> task) {
    std::exception_ptr named;
    try {
      if constexpr (std::is_void_v<T>) {
        co_await std::move(task);
        co_return;
      } else {
        co_return co_await std::move(task);
      }
    } catch (const Error& e) {
      const std::string prefix = "conversation '" + c.id + "'";
      if (std::string_view(e.what()).starts_with(prefix)) throw;
      named = e.with_prefix(prefix + ": ");
    }
    std::rethrow_exception(named);
  }

  // The decode loop, as the paper reads: draft a chunk, bridge it to the strong tokens, score the
  // settled ones, judge each, stop at the switch, and let the strong model continue.
  Task<Result> online(const Conversation& c, const Stream& stream) {
    Trace trace(c, Mode::online, settings(Mode::online));
    AnswerStream answer(stream, strong_.stops());
    const StrongPrompt prompt = co_await trace.strong([&] { return strong_.prompt(c); });
    co_await trace.strong([&] { strong_.start(); });
    rule_.reset();
    std::vector<Token> judged;  // drafted strong tokens the rule has seen, in order; all are kept
    std::size_t held = 0;       // tokens the strong sequence holds (prompt + judged)
    std::optional<Handoff> handoff;
    if (rule_.skips_draft())
      handoff = Handoff{DraftEnd::switched, 0};
    else if (limits_.max_tokens == 0)  // no room for a single drafted token
      handoff = Handoff{DraftEnd::max_tokens, 0};
    const bool drafts = !handoff;
    if (drafts) co_await trace.weak([&] { return weak_.start(c, limits_.draft_max_tokens); });
    while (!handoff) {
      if (answer.cancelled()) {
        handoff = Handoff{DraftEnd::cancelled, judged.size()};
        break;
      }
      trace.generated(co_await trace.weak([&] { return weak_.draft(limits_.chunk); }));  // 1. draft a chunk
      const DraftView draft = weak_.view();
      const BridgedDraft bridged = co_await trace.strong([&] { return strong_.bridge(prompt, draft); });  // 2. its strong tokens
      if (const std::size_t same = unchanged_prefix(judged, bridged); same < judged.size())
        rejudge(trace, judged, same);  // re-tokenizing changed judged tokens: judge again from there
      const std::size_t settled = bridged.stable - std::min(bridged.stable, judged.size());
      const auto fresh = std::span<const Token>(bridged.tokens)
                             .subspan(prompt.tokens.size() + judged.size(),
                                      std::min(settled, limits_.max_tokens - judged.size()));  // never past the budget
      const std::vector<Token> context = with_prompt(prompt, judged);
      const std::vector<double> probs =
          co_await trace.strong([&] { return strong_.probabilities(context, fresh); });  // 3. score the settled ones
      if (!fresh.empty()) trace.read(held, context.size(), fresh.size());
      for (std::size_t i = 0; i < probs.size() && !handoff; ++i) {
        judged.push_back(fresh[i]);
        const Judgement verdict = rule_.observe(probs[i]);  // 4. the rule judges p_k
        trace.judged(probs[i], verdict);
        if (verdict.switch_here) handoff = Handoff{DraftEnd::switched, judged.size()};
      }
      if (!handoff && judged.size() == limits_.max_tokens)  // the kept draft fills the answer
        handoff = Handoff{DraftEnd::max_tokens, judged.size()};
      if (stream.draft)  // judged tokens are final
        answer.draft(co_await trace.strong([&] { return strong_.detokenize(judged); }));
      if (!handoff && draft.ended) handoff = Handoff{weak_.end_reason(), judged.size()};
    }
    const auto kept = std::span<const Token>(judged).first(handoff->kept);  // 5. stop at the switch
    if (drafts) trace.drafted(weak_.view().text);
    trace.keep_draft(*handoff, kept, co_await trace.strong([&] { return strong_.detokenize(kept); }));
    answer.draft(trace.accepted_text());
    const std::vector<Token> context = with_prompt(prompt, kept);
    trace.read(held, context.size(), 0);
    const Continuation continuation = co_await trace.strong_writes(answer, [&] {  // 6. the strong model continues
      return strong_.continue_writing(context, budget(kept.size()), answer);
    });
    co_return trace.finish(continuation, strong_.stops());
  }

  // Forgets the judged tokens from `keep` on and replays the rule over the ones before.
  void rejudge(Trace& trace, std::vector<Token>& judged, std::size_t keep) {
    judged.resize(keep);
    const std::vector<double> probs = trace.forget_judged();
    rule_.reset();
    for (std::size_t k = 0; k < keep; ++k) trace.judged(probs[k], rule_.observe(probs[k]));
  }

  Task<Result> offline(const Conversation& c, const Stream& stream) {
    OfflineWork work = co_await draft_pass(c, stream);
    co_await score_pass(work);
    co_return co_await continue_pass(work, stream);
  }

  Task<OfflineWork> draft_pass(const Conversation& c, const Stream& stream) {
    OfflineWork work(c, Trace(c, Mode::offline, settings(Mode::offline)));
    Trace& trace = work.trace_;
    if (!rule_.skips_draft()) {
      co_await trace.weak([&] { return weak_.start(c, limits_.draft_max_tokens); });
      while (!stream.cancel.stop_requested() && !weak_.view().ended)
        trace.generated(co_await trace.weak([&] { return weak_.draft(limits_.draft_max_tokens); }));
      const DraftView view = weak_.view();
      work.draft_text_.assign(view.text);
      work.draft_tokens_.assign(view.tokens.begin(), view.tokens.end());
      work.weak_end_ = weak_.end_reason();
      trace.drafted(view.text);
    }
    trace.leave();
    co_return work;
  }

  Task<void> score_pass(OfflineWork& work) {
    Trace& trace = work.trace_;
    trace.enter();
    work.prompt_ = co_await trace.strong([&] { return strong_.prompt(*work.conversation_); });
    if (!rule_.skips_draft()) {
      const DraftView view{work.draft_text_, work.draft_tokens_, work.draft_text_.size(), work.draft_tokens_.size(),
                           true};
      const BridgedDraft bridged = co_await trace.strong([&] { return strong_.bridge(work.prompt_, view); });
      work.drafted_.assign(bridged.tokens.begin() + static_cast<std::ptrdiff_t>(bridged.prompt_tokens),
                           bridged.tokens.end());
      co_await trace.strong([&] { strong_.start(); });
      const std::vector<double> probs =
          co_await trace.strong([&] { return strong_.probabilities(work.prompt_.tokens, work.drafted_); });
      std::size_t held = 0;
      if (!work.drafted_.empty()) trace.read(held, work.prompt_.tokens.size(), work.drafted_.size());
      rule_.reset();
      std::optional<std::size_t> first_switch;
      for (std::size_t k = 0; k < probs.size(); ++k) {
        const Judgement verdict = rule_.observe(probs[k]);
        trace.judged(probs[k], verdict);
        if (verdict.switch_here && !first_switch) first_switch = k + 1;
      }
      // The first switch within the budget; else a draft as long as the budget is cut to it.
      if (first_switch && *first_switch <= limits_.max_tokens)
        work.handoff_ = Handoff{DraftEnd::switched, *first_switch};
      else if (work.drafted_.size() >= limits_.max_tokens)
        work.handoff_ = Handoff{DraftEnd::max_tokens, limits_.max_tokens};
      else
        work.handoff_ = Handoff{work.weak_end_, work.drafted_.size()};
    }
    trace.leave();
  }

  Task<Result> continue_pass(OfflineWork& work, const Stream& stream) {
    Trace& trace = work.trace_;
    trace.enter();
    AnswerStream answer(stream, strong_.stops());
    if (answer.cancelled() && !rule_.skips_draft()) work.handoff_ = Handoff{DraftEnd::cancelled, 0};
    co_await trace.strong([&] { strong_.start(); });  // pass 3 reads prompt + kept draft from scratch
    if constexpr (requires { strong_.read_prompt(work.prompt_.tokens); })  // the prompt alone first, as pass 2
      co_await trace.strong([&] { return strong_.read_prompt(work.prompt_.tokens); });
    const auto kept = std::span<const Token>(work.drafted_).first(work.handoff_.kept);
    trace.keep_draft(work.handoff_, work.drafted_, co_await trace.strong([&] { return strong_.detokenize(kept); }));
    answer.draft(trace.accepted_text());
    const std::vector<Token> context = with_prompt(work.prompt_, kept);
    std::size_t held = 0;
    trace.read(held, context.size(), 0);
    const Continuation continuation = co_await trace.strong_writes(
        answer, [&] { return strong_.continue_writing(context, budget(kept.size()), answer); });
    co_return trace.finish(continuation, strong_.stops());
  }

  Task<Result> weak_only(const Conversation& c, const Stream& stream) {
    Trace trace(c, Mode::weak_only, settings(Mode::weak_only));
    const StopStrings none;  // the drafter cuts its own stop strings
    AnswerStream answer(stream, none);
    co_await trace.weak([&] { return weak_.start(c, limits_.max_tokens); });
    while (!answer.cancelled() && !weak_.view().ended) {
      trace.generated(co_await trace.weak([&] { return weak_.draft(limits_.chunk); }));
      const DraftView draft = weak_.view();
      answer.draft(draft.text.substr(0, draft.settled_bytes));
    }
    answer.draft(weak_.view().text);
    answer.finish();
    co_return trace.finish_weak_only(answer.cancelled() ? DraftEnd::cancelled : weak_.end_reason(), weak_.view().text);
  }

  // How many judged tokens the new bridge still gives at the same positions.
  static std::size_t unchanged_prefix(const std::vector<Token>& judged, const BridgedDraft& b) {
    std::size_t same = 0;
    while (same < judged.size() && same < b.drafted() && b.tokens[b.prompt_tokens + same] == judged[same]) ++same;
    return same;
  }

  static std::vector<Token> with_prompt(const StrongPrompt& prompt, std::span<const Token> drafted) {
    std::vector<Token> out(prompt.tokens);
    out.insert(out.end(), drafted.begin(), drafted.end());
    return out;
  }

  std::size_t budget(std::size_t kept) const { return limits_.max_tokens > kept ? limits_.max_tokens - kept : 0; }

 public:
  // What the reference's first passes leave for the next (see offline_draft).
  class OfflineWork {
   public:
    const Conversation& conversation() const { return *conversation_; }

   private:
    friend class WeakToStrongDecoder;
    OfflineWork(const Conversation& c, Trace trace) : conversation_(&c), trace_(std::move(trace)) {}
    const Conversation* conversation_;
    Trace trace_;
    std::string draft_text_;
    std::vector<Token> draft_tokens_;
    DraftEnd weak_end_ = DraftEnd::length;
    StrongPrompt prompt_;
    std::vector<Token> drafted_;
    Handoff handoff_{DraftEnd::switched, 0};
  };

 private:
  Weak weak_;
  Strong strong_;
  Switch rule_;
  Limits limits_;
};

}  // namespace wsd
