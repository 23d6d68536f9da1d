#pragma once
// Streaming and cancelling: where a response's final text goes as it is decided, and how a
// caller stops a decode (a sink that returns false or Flow::stop, or a std::stop_token).
#include <concepts>
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>
#include <tuple>
#include <algorithm>
#include <type_traits>
#include <utility>

#include "wsd/core/timing.hpp"
#include "wsd/core/stop_strings.hpp"

namespace wsd {

// What a streaming callback tells the decoder.
enum class Flow { go, stop };

// Receives text as it becomes final. Built from any callable taking std::string_view that
// returns void (never stops), bool (false: stop) or Flow.
class TextSink {
 public:
  TextSink() = default;
  template <class F>
    requires(!std::same_as<std::remove_cvref_t<F>, TextSink> && std::invocable<F&, std::string_view>)
  TextSink(F&& f) {  // NOLINT: implicit, so a lambda can be passed where a sink is expected
    using R = std::invoke_result_t<F&, std::string_view>;
    if constexpr (std::is_void_v<R>)
      f_ = [g = std::forward<F>(f)](std::string_view t) mutable { g(t); return Flow::go; };
    else if constexpr (std::same_as<R, Flow>)
      f_ = std::forward<F>(f);
    else
      f_ = [g = std::forward<F>(f)](std::string_view t) mutable { return g(t) ? Flow::go : Flow::stop; };
  }
  explicit operator bool() const { return static_cast<bool>(f_); }
  Flow operator()(std::string_view text) const { return f_ ? f_(text) : Flow::go; }

 private:
  std::function<Flow(std::string_view)> f_;
};

// Where a decode streams to and how it is cancelled: the kept draft token by token as each is
// judged, then the strong model's continuation as it is written; `cancel` is polled between
// model calls and before each written token.
struct Stream {
  TextSink draft;
  TextSink continuation;
  std::stop_token cancel = {};
};

// The answer as the caller sees it while it is decided: the kept draft, then the continuation,
// cut at the strong model's first stop string. Text that could still become the start of a stop
// string is held back until it is known not to be one. Without sinks it only answers cancelled().
class AnswerStream {
 public:
  AnswerStream(const Stream& stream, const StopStrings& stops)
      : stream_(stream), stops_(stops), streaming_(stream.draft || stream.continuation) {}

  bool cancelled() const { return cancelled_ || stream_.cancel.stop_requested(); }
  // Time spent here and in the caller's sinks (the decoder's and the caller's, not a model's).
  double seconds() const { return seconds_; }

  // The kept draft's text so far (it only grows); false once the caller asked to stop.
  bool draft(std::string_view kept_text) {
    if (!streaming_) return !cancelled();
    answer_.assign(kept_text);
    draft_size_ = answer_.size();
    return flush(false);
  }
  // The next piece of the continuation, written after the kept draft.
  bool write(std::string_view piece) {
    if (!streaming_) return !cancelled();
    answer_ += piece;
    return flush(false);
  }
  // The answer is complete: releases what was held back.
  bool finish() { return streaming_ ? flush(true) : !cancelled(); }

 private:
  // Sends what became final: the draft's part to the draft sink, the rest to the continuation sink.
  // Nothing before emitted_ holds a stop string, so only matches ending after it are looked for.
  bool flush(bool done) {
    if (cancelled()) return false;
    const ScopedTimer timer(seconds_);
    const std::string_view all(answer_);
    const std::string_view final_text = all.substr(0, stops_.find(all, emitted_).value_or(all.size()));
    const std::size_t upto = done ? final_text.size() : stops_.safe_prefix(final_text);
    for (const auto& [sink, begin, end] : {std::tuple{&stream_.draft, std::size_t{0}, draft_size_},
                                           std::tuple{&stream_.continuation, draft_size_, all.size()}}) {
      const std::size_t from = std::max(emitted_, begin), to = std::min(upto, end);
      if (from < to && *sink && (*sink)(all.substr(from, to - from)) == Flow::stop) cancelled_ = true;
    }
    emitted_ = std::max(emitted_, upto);
    return !cancelled();
  }

  const Stream& stream_;
  const StopStrings& stops_;
  const bool streaming_;
  std::string answer_;
  std::size_t draft_size_ = 0;
  std::size_t emitted_ = 0;
  bool cancelled_ = false;
  double seconds_ = 0.0;
};

}  // namespace wsd
