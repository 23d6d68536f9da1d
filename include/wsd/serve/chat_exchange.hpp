#pragma once
// One chat completion request in flight, between the decode loop's thread (its choices' streams
// and ends) and the HTTP handler's thread (which waits, then writes the response, or writes the
// stream's events as they come). Hold it by shared_ptr: its streams keep it alive.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "wsd/batch/decode_loop.hpp"
#include "wsd/core/stream.hpp"
#include "wsd/serve/responses.hpp"

namespace wsd::serve {

class ChatExchange : public std::enable_shared_from_this<ChatExchange> {
 public:
  // Where the detail of a failed choice goes (the server's log), a line naming the request's id.
  using Log = std::function<void(const std::string&)>;

  // n choices; `streaming` writes server-sent events (the usage last where include_usage);
  // prompt_tokens is the usage's (the base model's prompt).
  ChatExchange(Completion completion, std::size_t n, bool streaming, bool include_usage, std::size_t prompt_tokens,
               Log log = {})
      : completion_(std::move(completion)), streaming_(streaming), include_usage_(include_usage),
        prompt_tokens_(prompt_tokens), log_(std::move(log)), outcomes_(n), switched_(n, false) {
    if (streaming_)
      for (std::size_t i = 0; i < n; ++i) events_.push_back(sse(completion_.chunk(i, {{"role", "assistant"}, {"content", ""}})));
  }

  std::size_t choices() const { return outcomes_.size(); }

  // Choice i's stream: its text as chunks, with the switch marker before the base model's first
  // text; nothing when the request does not stream.
  Stream stream(std::size_t i) {
    Stream s;
    if (!streaming_) return s;
    std::weak_ptr<ChatExchange> self = weak_from_this();
    s.draft = [self, i](std::string_view t) {
      if (auto ex = self.lock()) ex->push(ex->completion_.chunk(i, {{"content", t}}));
    };
    s.continuation = [self, i](std::string_view t) {
      auto ex = self.lock();
      if (!ex) return;
      if (!ex->switched_[i]) {  // the first text the base model wrote: it took over here
        ex->switched_[i] = true;
        ex->push(ex->completion_.switch_chunk(i));
      }
      ex->push(ex->completion_.chunk(i, {{"content", t}}));
    };
    return s;
  }

  // Choice i ended (once per choice, from the loop's thread).
  void end(std::size_t i, Outcome o) {
    std::lock_guard lock(mutex_);
    if (o.result) {
      tokens_ += answer_tokens(*o.result);
      if (i == 0) switch_index_ = o.result->accept_index;
    }
    outcomes_.at(i) = std::move(o);
    ++ended_;
    changed_.notify_all();
  }
  bool all_ended() const {
    std::lock_guard lock(mutex_);
    return ended_ == outcomes_.size();
  }

  // Whether every choice ended, waiting up to `wait` for it (a handler that polls its client).
  bool wait_ended(std::chrono::milliseconds wait) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, wait, [&] { return ended_ == outcomes_.size(); });
  }

  // The request's line in the log, once it was answered with `status` (a stream: what status()
  // says, or 499 for a client gone): its id, status, choices, answer tokens, choice 0's switch
  // index and the seconds since it was received.
  void finished(int status) const {
    if (!log_) return;
    std::lock_guard lock(mutex_);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - received_).count();
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.2f", s);
    log_("request " + completion_.id + ": " + std::to_string(status) + ", " + std::to_string(outcomes_.size()) +
         (outcomes_.size() == 1 ? " choice, " : " choices, ") + std::to_string(tokens_) + " answer tokens, switch_index " +
         (switch_index_ ? std::to_string(*switch_index_) : std::string("-")) + ", " + seconds + " s");
  }

  // The status the request ended with, once every choice ended: the first failed choice's (a
  // stream tells it in an error event), else 200. What /metrics counts for a stream.
  int status() const {
    std::lock_guard lock(mutex_);
    for (const auto& o : outcomes_)
      if (o && !o->result) return answer_error(o->error, completion_.id).status;
    return 200;
  }

  // A request that did not stream: waits for every choice, then the response, or the error of
  // the first choice that failed. Once: the results are moved into the response.
  std::variant<nlohmann::json, ApiError> wait_response() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return ended_ == outcomes_.size(); });
    std::vector<Result> results;
    for (std::size_t i = 0; i < outcomes_.size(); ++i) {  // taken once: the results move out
      auto& o = outcomes_[i];
      if (!o->result) return failed(i, o->error);
      results.push_back(std::move(*o->result));
    }
    return completion_.response(results, prompt_tokens_);
  }

  // A streamed request: the events there are (waiting up to `wait` for one); once every choice
  // ended, each choice's last chunk (or its error), the usage where asked, and [DONE], with
  // `finished` set.
  struct Events {
    std::vector<std::string> events;
    bool finished = false;
  };
  Events take(std::chrono::milliseconds wait) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, wait, [&] { return !events_.empty() || ended_ == outcomes_.size(); });
    Events out;
    out.events.assign(std::make_move_iterator(events_.begin()), std::make_move_iterator(events_.end()));
    events_.clear();
    if (ended_ < outcomes_.size() || closed_) return out;
    std::size_t completion = 0;
    for (std::size_t i = 0; i < outcomes_.size(); ++i) {
      const Outcome& o = *outcomes_[i];
      if (o.result) {
        completion += answer_tokens(*o.result);
        out.events.push_back(sse(completion_.final_chunk(i, *o.result)));
      } else {
        out.events.push_back(sse(failed(i, o.error).body()));
      }
    }
    if (include_usage_) out.events.push_back(sse(completion_.usage_chunk(prompt_tokens_, completion)));
    out.events.emplace_back(kSseDone);
    out.finished = closed_ = true;
    return out;
  }

 private:
  // What the client gets for choice i's failure; its detail goes to the log.
  ApiError failed(std::size_t i, const std::exception_ptr& e) const {
    ApiError told = answer_error(e, completion_.id);
    if (log_)
      log_("request " + completion_.id + ": choice " + std::to_string(i) + " failed (" + std::to_string(told.status) +
           "): " + failure_detail(e));
    return told;
  }

  void push(const nlohmann::json& chunk) {
    std::lock_guard lock(mutex_);
    events_.push_back(sse(chunk));
    changed_.notify_all();
  }

  const Completion completion_;
  const bool streaming_, include_usage_;
  const std::size_t prompt_tokens_;
  const Log log_;
  const std::chrono::steady_clock::time_point received_ = std::chrono::steady_clock::now();
  std::size_t tokens_ = 0;               // answer tokens of the choices that ended with one
  std::optional<long> switch_index_;     // choice 0's, once it ended with an answer
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> events_;  // server-sent events not yet taken
  std::vector<std::optional<Outcome>> outcomes_;
  std::vector<bool> switched_;  // per choice, written only by its stream (the loop's thread)
  std::size_t ended_ = 0;
  bool closed_ = false;  // the last events were taken
};

}  // namespace wsd::serve
