#pragma once
// WeakToStrongDecoder: the weak drafter begins the answer, the strong model takes over at the
// switch point. decode_online() is this library's form; decode_offline() is the reference's.
#include <span>
#include <string>
#include <vector>

#include "wsd/concepts.hpp"
#include "wsd/config.hpp"
#include "wsd/conversation.hpp"
#include "wsd/drafter.hpp"
#include "wsd/strong_model.hpp"
#include "wsd/timing.hpp"
#include "wsd/trace.hpp"

namespace wsd {

// Where streamed text goes: the accepted draft once the switch point is known, then the
// strong model's continuation as it is written.
struct Stream {
  TextSink draft;
  TextSink continuation;
};

template <WeakDrafterPolicy Weak, StrongModelPolicy Strong, SwitchPolicy Switch>
class WeakToStrongDecoder {
 public:
  WeakToStrongDecoder(Weak weak, Strong strong, Switch rule, Config config = {})
      : weak_(std::move(weak)), strong_(std::move(strong)), rule_(std::move(rule)), config_(std::move(config)) {
    validate(config_);
  }

  Result decode(const Conversation& c, const Stream& stream = {}) {
    return config_.mode == Mode::online ? decode_online(c, stream) : decode_offline(c);
  }

  // Drafts a chunk, scores its final strong tokens in one call, applies the rule as they arrive,
  // stops drafting at the first switch and continues from the strong model's cache.
  Result decode_online(const Conversation& c, const Stream& stream = {}) {
    return naming(c, [&] { return online(c, stream); });
  }

  // The reference's three passes: the whole draft, its scores, then the strong model re-reads
  // prompt + accepted draft and writes the rest.
  Result decode_offline(const Conversation& c) {
    return naming(c, [&] { return offline(c); });
  }

  Weak& weak() { return weak_; }
  Strong& strong() { return strong_; }
  const Config& config() const { return config_; }

 private:
  // Errors name the conversation they happened in.
  template <class F>
  static Result naming(const Conversation& c, F&& f) {
    try {
      return f();
    } catch (const Error& e) {
      std::rethrow_exception(e.with_prefix("conversation '" + c.id + "': "));
    }
  }

  Result online(const Conversation& c, const Stream& stream) {
    Run run(*this, c, Mode::online);
    const std::size_t P = run.prompt.tokens.size();
    std::vector<Token> judged;  // drafted strong tokens fed to the rule, in order
    strong_.extend(run.prompt.tokens, P);
    if (rule_.skips_draft()) {
      run.finish_draft(-1, DraftEnd::switched, {});
    } else {
      weak_.start(c, config_.draft_max_tokens);
      while (true) {
        weak_.draft(config_.chunk);
        const bool ended = weak_.ended();
        const BridgedDraft b = strong_.bridge(run.prompt, weak_.text(), weak_.tokens(), ended);
        // Re-tokenizing may change tokens already judged: judge again from the first change.
        std::size_t same = 0;
        while (same < judged.size() && same < b.drafted() && b.tokens[P + same] == judged[same]) ++same;
        if (same < judged.size()) run.rejudge(judged, same);
        long accept = -2;
        if (b.stable > judged.size()) {
          const auto sequence = std::span<const Token>(b.tokens).first(P + b.stable);
          const auto probs = strong_.extend(sequence, P + judged.size());
          for (double p : probs) {
            judged.push_back(sequence[P + judged.size()]);
            if (run.judge(p)) {
              accept = static_cast<long>(judged.size()) - 1;
              break;
            }
          }
        }
        if (accept >= 0) {
          strong_.truncate(P + static_cast<std::size_t>(accept) + 1);
          run.finish_draft(accept, DraftEnd::switched, judged);
          break;
        }
        if (ended) {
          run.finish_draft(static_cast<long>(judged.size()) - 1, weak_.end_reason(), judged);
          break;
        }
      }
    }
    return run.finish(stream);
  }

  // Draft everything, score it in one pass, re-read prompt and accepted draft from scratch, continue.
  Result offline(const Conversation& c) {
    Run run(*this, c, Mode::offline);
    const std::size_t P = run.prompt.tokens.size();
    if (rule_.skips_draft()) {
      run.finish_draft(-1, DraftEnd::switched, {});
    } else {
      weak_.start(c, config_.draft_max_tokens);
      while (weak_.draft(config_.draft_max_tokens)) {
      }
      const BridgedDraft b = strong_.bridge(run.prompt, weak_.text(), weak_.tokens(), true);
      const auto probs = strong_.extend(b.tokens, P);
      long accept = -2;
      for (double p : probs)
        if (run.judge(p) && accept == -2) accept = static_cast<long>(run.result.probs.size()) - 1;
      const auto drafted = std::span<const Token>(b.tokens).subspan(P);
      if (accept >= 0)
        run.finish_draft(accept, DraftEnd::switched, drafted, false);
      else
        run.finish_draft(static_cast<long>(drafted.size()) - 1, weak_.end_reason(), drafted, false);
      strong_.reset();
    }
    const auto kept = std::span<const Token>(run.prompt.tokens.begin(), run.prompt.tokens.end());
    std::vector<Token> sequence(kept.begin(), kept.end());
    const auto& accepted = run.accepted_tokens;
    sequence.insert(sequence.end(), accepted.begin(), accepted.end());
    strong_.extend(sequence, sequence.size());
    return run.finish({});
  }

  // The bookkeeping of one response: trace, counters and timers.
  struct Run {
    Run(WeakToStrongDecoder& d, const Conversation& c, Mode mode)
        : decoder(d), start(Clock::now()), strong_seconds(d.strong_.seconds()),
          strong_write_seconds(d.strong_.write_seconds()), strong_processed(d.strong_.scored()) {
      validate_conversation(c);
      result.id = c.id;
      result.mode = mode;
      result.config = to_json(d.config_);
      result.config["mode"] = to_string(mode);
      d.rule_.reset();
      d.strong_.reset();
      prompt = d.strong_.prompt(c);
    }

    bool judge(double p) {
      result.probs.push_back(p);
      const bool switched = decoder.rule_.observe(p);
      result.window_means.push_back(decoder.rule_.window_mean());
      return switched;
    }

    void rejudge(std::vector<Token>& judged, std::size_t keep) {
      judged.resize(keep);
      std::vector<double> probs(result.probs.begin(), result.probs.begin() + static_cast<std::ptrdiff_t>(keep));
      result.probs.clear();
      result.window_means.clear();
      decoder.rule_.reset();
      for (double p : probs) judge(p);
    }

    // Records the switch point; the online trace keeps the tokens up to it, the offline one all.
    void finish_draft(long accept, DraftEnd reason, std::span<const Token> drafted, bool trim_to_accept = true) {
      result.accept_index = accept;
      result.reason = reason;
      const std::size_t kept = static_cast<std::size_t>(accept + 1);
      result.draft_tokens.assign(drafted.begin(), drafted.end());
      if (trim_to_accept) {
        result.draft_tokens.resize(kept);
        result.probs.resize(std::min(result.probs.size(), kept));
        result.window_means.resize(std::min(result.window_means.size(), kept));
      }
      accepted_tokens.assign(drafted.begin(), drafted.begin() + static_cast<std::ptrdiff_t>(kept));
      result.accepted_text = decoder.strong_.detokenize(accepted_tokens);
    }

    Result finish(const Stream& stream) {
      Config& cfg = decoder.config_;
      if (stream.draft && !result.accepted_text.empty()) stream.draft(result.accepted_text);
      const std::size_t kept = accepted_tokens.size();
      const std::size_t budget = cfg.max_tokens > kept ? cfg.max_tokens - kept : 0;
      Continuation cont = decoder.strong_.continue_writing(budget, result.accepted_text, stream.continuation);
      result.continuation_text = std::move(cont.text);
      result.continuation_tokens = std::move(cont.tokens);
      result.text = std::string(decoder.strong_.cut_at_stop(result.accepted_text + result.continuation_text));
      if (!decoder.rule_.skips_draft()) {
        result.draft_text = std::string(decoder.weak_.text());
        result.weak_tokens = decoder.weak_.generated();
        result.timing.weak_s = decoder.weak_.seconds();
      }
      result.strong_processed = decoder.strong_.scored() - strong_processed;
      result.strong_generated = result.continuation_tokens.size();
      result.timing.strong_s = decoder.strong_.seconds() - strong_seconds;
      result.timing.strong_write_s = decoder.strong_.write_seconds() - strong_write_seconds;
      result.timing.total_s = std::chrono::duration<double>(Clock::now() - start).count();
      result.timing.decoder_s = std::max(0.0, result.timing.total_s - result.timing.weak_s - result.timing.strong_s);
      return std::move(result);
    }

    WeakToStrongDecoder& decoder;
    Clock::time_point start;
    double strong_seconds;
    double strong_write_seconds;
    std::size_t strong_processed;
    StrongPrompt prompt;
    std::vector<Token> accepted_tokens;
    Result result;
  };

  Weak weak_;
  Strong strong_;
  Switch rule_;
  Config config_;
};

}  // namespace wsd
