#pragma once
// WeakToStrongDecoder: the weak drafter begins the answer, the strong model takes over at the
// switch point. decode_online() is this library's form; decode_offline() is the reference's.
#include <algorithm>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "wsd/concepts.hpp"
#include "wsd/config.hpp"
#include "wsd/conversation.hpp"
#include "wsd/stream.hpp"
#include "wsd/timing.hpp"
#include "wsd/trace.hpp"

namespace wsd {

// Where the draft ends: how many drafted strong tokens are kept, and why.
struct Handoff {
  DraftEnd reason = DraftEnd::switched;
  std::size_t kept = 0;
};

template <WeakDrafterPolicy Weak, StrongModelPolicy Strong, SwitchPolicy Switch>
class WeakToStrongDecoder {
 public:
  // The trace's configuration records the rule's own parameters when it can write them.
  WeakToStrongDecoder(Weak weak, Strong strong, Switch rule, Config config = {})
      : weak_(std::move(weak)), strong_(std::move(strong)), rule_(std::move(rule)), config_(std::move(config)) {
    if constexpr (requires { rule_.configure(config_); }) rule_.configure(config_);
    validate(config_, "configuration", /*known_rule=*/false);
  }
  WeakToStrongDecoder(const WeakToStrongDecoder&) = delete;
  WeakToStrongDecoder& operator=(const WeakToStrongDecoder&) = delete;
  WeakToStrongDecoder(WeakToStrongDecoder&&) noexcept = default;

  Result decode(const Conversation& c, const Stream& stream = {}) {
    return config_.mode == Mode::online ? decode_online(c, stream) : decode_offline(c, stream);
  }

  // Drafts a chunk, scores its settled strong tokens in one call, applies the rule as they arrive,
  // stops drafting at the first switch and continues from the strong model's cache.
  Result decode_online(const Conversation& c, const Stream& stream = {}) {
    return naming(c, [&] { return online(c, stream); });
  }

  // The reference's three passes: the whole draft, its scores, then the strong model re-reads
  // prompt + kept draft and writes the rest.
  Result decode_offline(const Conversation& c, const Stream& stream = {}) {
    return naming(c, [&] { return offline(c, stream); });
  }

  // The reference's passes one at a time, for a driver that runs each pass over a whole set of
  // conversations before the next (wsd::decode_offline_batched, as the reference runs them in
  // vLLM); any decoder of the same configuration may run any pass. decode_offline() is the three
  // in a row. The conversation must outlive its OfflineWork.
  class OfflineWork;
  OfflineWork offline_draft(const Conversation& c, const Stream& stream = {}) {  // pass 1: the whole draft
    return naming(c, [&] { return draft_pass(c, stream); });
  }
  void offline_score(OfflineWork& work) {  // pass 2: its scores and where the rule switches
    naming(*work.conversation_, [&] { score_pass(work); });
  }
  Result offline_continue(OfflineWork& work, const Stream& stream = {}) {  // pass 3: re-read and continue
    return naming(*work.conversation_, [&] { return continue_pass(work, stream); });
  }

  // The weak model alone writes the whole answer (up to max_tokens): the other baseline.
  Result decode_weak_only(const Conversation& c, const Stream& stream = {}) {
    return naming(c, [&] { return weak_only(c, stream); });
  }

  Weak& weak() { return weak_; }
  Strong& strong() { return strong_; }
  const Config& config() const { return config_; }

 private:
  // Errors name the conversation they happened in, once.
  template <class F>
  static decltype(auto) naming(const Conversation& c, F&& f) {
    try {
      return f();
    } catch (const Error& e) {
      const std::string prefix = "conversation '" + c.id + "'";
      if (std::string_view(e.what()).starts_with(prefix)) throw;
      std::rethrow_exception(e.with_prefix(prefix + ": "));
    }
  }

  Result online(const Conversation& c, const Stream& stream) {
    Trace trace(*this, c, Mode::online);
    AnswerStream answer(stream, strong_.stops());
    const StrongPrompt prompt = strong_.prompt(c);
    strong_.start();
    std::vector<Token> judged;  // drafted strong tokens the rule has seen, in order; all are kept
    std::optional<Handoff> handoff;
    if (rule_.skips_draft()) handoff = Handoff{DraftEnd::switched, 0};
    else weak_.start(c, config_.draft_max_tokens);
    while (!handoff) {
      if (answer.cancelled()) {
        handoff = Handoff{DraftEnd::cancelled, judged.size()};
        break;
      }
      weak_.draft(config_.chunk);                                 // 1. the weak model drafts a chunk
      const DraftView draft = weak_.view();
      const BridgedDraft bridged = strong_.bridge(prompt, draft);  // 2. bridge: its strong tokens
      trace.rejudge_from(judged, unchanged_prefix(judged, bridged));  // re-tokenizing changed judged ones
      const auto fresh = std::span<const Token>(bridged.tokens)
                             .subspan(prompt.tokens.size() + judged.size(), bridged.stable - std::min(bridged.stable, judged.size()));
      const auto probs = strong_.probabilities(with_prompt(prompt, judged), fresh);  // 3. score the settled ones
      for (std::size_t i = 0; i < probs.size() && !handoff; ++i) {
        judged.push_back(fresh[i]);
        if (trace.judge(probs[i])) handoff = Handoff{DraftEnd::switched, judged.size()};  // 4. the rule
      }
      if (stream.draft) answer.draft(strong_.detokenize(judged));  // every judged token is kept: final
      if (!handoff && draft.ended) handoff = Handoff{weak_.end_reason(), judged.size()};
    }
    const auto kept = std::span<const Token>(judged).first(handoff->kept);  // 5. stop at the switch
    if (!rule_.skips_draft()) trace.drafted();
    answer.draft(trace.keep_draft(*handoff, kept, kept));
    const Continuation continuation =                                        // 6. the strong model continues
        strong_.continue_writing(with_prompt(prompt, kept), budget(kept.size()), answer);
    return trace.finish(continuation);
  }

  Result offline(const Conversation& c, const Stream& stream) {
    OfflineWork work = draft_pass(c, stream);
    score_pass(work);
    return continue_pass(work, stream);
  }

  OfflineWork draft_pass(const Conversation& c, const Stream& stream) {
    OfflineWork work(c, Trace(*this, c, Mode::offline));
    if (!rule_.skips_draft()) {
      weak_.start(c, config_.draft_max_tokens);
      while (!stream.cancel.stop_requested() && weak_.draft(config_.draft_max_tokens)) {
      }
      const DraftView view = weak_.view();
      work.draft_text_.assign(view.text);
      work.draft_tokens_.assign(view.tokens.begin(), view.tokens.end());
      work.weak_end_ = weak_.end_reason();
      work.trace_.drafted();
    }
    work.trace_.leave();
    return work;
  }

  void score_pass(OfflineWork& work) {
    work.trace_.enter(*this);
    work.prompt_ = strong_.prompt(*work.conversation_);
    if (!rule_.skips_draft()) {
      const DraftView view{work.draft_text_, work.draft_tokens_, work.draft_text_.size(), work.draft_tokens_.size(), true};
      const BridgedDraft bridged = strong_.bridge(work.prompt_, view);
      work.drafted_.assign(bridged.tokens.begin() + static_cast<std::ptrdiff_t>(bridged.prompt_tokens), bridged.tokens.end());
      strong_.start();
      const auto probs = strong_.probabilities(work.prompt_.tokens, work.drafted_);
      std::optional<std::size_t> first_switch;
      for (std::size_t k = 0; k < probs.size(); ++k)
        if (work.trace_.judge(probs[k]) && !first_switch) first_switch = k + 1;
      work.handoff_ = first_switch ? Handoff{DraftEnd::switched, *first_switch} : Handoff{work.weak_end_, work.drafted_.size()};
    }
    work.trace_.leave();
  }

  Result continue_pass(OfflineWork& work, const Stream& stream) {
    Trace& trace = work.trace_;
    trace.enter(*this);
    AnswerStream answer(stream, strong_.stops());
    if (answer.cancelled() && !rule_.skips_draft()) work.handoff_ = Handoff{DraftEnd::cancelled, 0};
    strong_.start();  // pass 3 reads prompt + kept draft from scratch
    const auto kept = std::span<const Token>(work.drafted_).first(work.handoff_.kept);
    answer.draft(trace.keep_draft(work.handoff_, kept, work.drafted_));
    const Continuation continuation =
        strong_.continue_writing(with_prompt(work.prompt_, kept), budget(kept.size()), answer);
    return trace.finish(continuation);
  }

  Result weak_only(const Conversation& c, const Stream& stream) {
    Trace trace(*this, c, Mode::online);
    const StopStrings none;  // the drafter cuts its own stop strings
    AnswerStream answer(stream, none);
    weak_.start(c, config_.max_tokens);
    while (!answer.cancelled() && weak_.draft(config_.chunk)) {
      const DraftView draft = weak_.view();
      answer.draft(draft.text.substr(0, draft.settled_bytes));
    }
    answer.draft(weak_.view().text);
    answer.finish();
    return trace.finish_weak_only(answer.cancelled() ? DraftEnd::cancelled : weak_.end_reason());
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

  std::size_t budget(std::size_t kept) const { return config_.max_tokens > kept ? config_.max_tokens - kept : 0; }

  // Records the trace of one response: what the rule saw, the kept draft, counters and timers.
  // Its work may come in stints on different decoders (the batched reference's passes): each
  // enter(decoder) .. leave() adds that decoder's counters and the wall time between.
  class Trace {
   public:
    Trace(WeakToStrongDecoder& d, const Conversation& c, Mode mode) {
      validate_conversation(c);
      r_.id = c.id;
      r_.answer_prefix = answer_prefix(c);
      r_.mode = mode;
      r_.config = to_json(d.config_);
      r_.config["mode"] = to_string(mode);
      enter(d);
    }

    // A stint of work on decoder d begins; the rule starts afresh (it never spans stints).
    void enter(WeakToStrongDecoder& d) {
      d_ = &d;
      start_ = Clock::now();
      strong_seconds_ = d.strong_.seconds();
      strong_write_seconds_ = d.strong_.write_seconds();
      strong_processed_ = d.strong_.processed();
      d.rule_.reset();
    }
    void leave() {
      r_.strong_processed += d_->strong_.processed() - strong_processed_;
      r_.timing.strong_s += d_->strong_.seconds() - strong_seconds_;
      r_.timing.strong_write_s += d_->strong_.write_seconds() - strong_write_seconds_;
      r_.timing.total_s += std::chrono::duration<double>(Clock::now() - start_).count();
    }

    // Feeds p_k to the rule and records it; true at a switch.
    bool judge(double p) {
      r_.probs.push_back(p);
      const bool switched = d_->rule_.observe(p);
      r_.window_means.push_back(d_->rule_.window_mean());
      return switched;
    }

    // Forgets the judged tokens from `keep` on and replays the rule over the ones before.
    void rejudge_from(std::vector<Token>& judged, std::size_t keep) {
      if (keep == judged.size()) return;
      judged.resize(keep);
      const std::vector<double> probs(r_.probs.begin(), r_.probs.begin() + static_cast<std::ptrdiff_t>(keep));
      r_.probs.clear();
      r_.window_means.clear();
      d_->rule_.reset();
      for (double p : probs) judge(p);
    }

    // Records the weak model's draft once it has ended.
    void drafted() {
      r_.draft_text = std::string(d_->weak_.view().text);
      r_.weak_tokens = d_->weak_.generated();
      r_.timing.weak_s = d_->weak_.seconds();
    }

    // Records where the draft ended and what was kept (`scored`: the trace's drafted tokens, all of
    // them for the reference's form); returns the kept text.
    std::string keep_draft(const Handoff& h, std::span<const Token> kept, std::span<const Token> scored) {
      r_.accept_index = static_cast<long>(h.kept) - 1;
      r_.reason = h.reason;
      r_.draft_tokens.assign(scored.begin(), scored.end());
      r_.accepted_text = d_->strong_.detokenize(kept);
      return r_.accepted_text;
    }

    Result finish(const Continuation& continuation) {
      r_.continuation_text = continuation.text;
      r_.continuation_tokens = continuation.tokens;
      r_.continuation_reason = continuation.reason;
      r_.text = r_.answer_prefix + std::string(d_->strong_.cut_at_stop(r_.accepted_text + r_.continuation_text));
      r_.strong_generated = r_.continuation_tokens.size();
      leave();
      return timed();
    }

    Result finish_weak_only(DraftEnd reason) {
      r_.reason = reason;
      drafted();
      r_.text = r_.answer_prefix + r_.draft_text;
      r_.config["switch_rule"] = "weak-only";
      leave();
      return timed();
    }

   private:
    Result timed() {
      r_.timing.decoder_s = std::max(0.0, r_.timing.total_s - r_.timing.weak_s - r_.timing.strong_s);
      return std::move(r_);
    }

    WeakToStrongDecoder* d_ = nullptr;
    Clock::time_point start_;
    double strong_seconds_ = 0.0;
    double strong_write_seconds_ = 0.0;
    std::size_t strong_processed_ = 0;
    Result r_;
  };

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
  Config config_;
};

}  // namespace wsd
