#pragma once
// DecodeLoop: conversations in flight as state. Each decoder given is a slot (its own sequences
// of the shared engines); a submitted conversation waits for a free slot, then runs as a
// coroutine on one EngineLoop that batches the model calls of all of them, and the next waiting
// one is admitted as soon as one ends (continuous batching). Conversations are submitted and
// cancelled from any thread while the loop runs; each ends exactly once, with its result or its
// error, reported from the loop's thread (where the callback may do anything, submit included).
// decode_parallel and decode_offline_batched run a whole set through one.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stop_token>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "wsd/batch/engine_loop.hpp"
#include "wsd/core/conversation.hpp"
#include "wsd/core/errors.hpp"
#include "wsd/core/result.hpp"
#include "wsd/core/stream.hpp"
#include "wsd/core/task.hpp"

namespace wsd {

// One conversation's end: its result, or what it failed with (a wsd::Error names the conversation).
struct Outcome {
  std::size_t index = 0;  // the id submit() gave it (decode_parallel: its index in the list)
  std::optional<Result> result;
  std::exception_ptr error;
};

// Decoder: a WeakToStrongDecoder, or a std::reference_wrapper to one the caller keeps.
template <class Decoder>
class DecodeLoop {
 public:
  using Slot = std::unwrap_reference_t<Decoder>;
  using Id = std::size_t;
  using OnDone = std::function<void(Outcome)>;
  // A job: a coroutine run on a free slot, given the job's stop token; its Result (if any) is
  // reported, nothing is reported for std::nullopt, an exception is reported as the error.
  using Job = std::function<Task<std::optional<Result>>(Slot&, std::stop_token)>;

  explicit DecodeLoop(std::vector<Decoder> decoders) : decoders_(std::move(decoders)) {
    if (decoders_.empty()) throw ConfigError("a decode loop needs at least one decoder (a slot)");
    for (std::size_t i = decoders_.size(); i > 0; --i) free_.push_back(i - 1);
  }
  DecodeLoop(const DecodeLoop&) = delete;
  DecodeLoop& operator=(const DecodeLoop&) = delete;

  // Ends everything: waiting conversations with a CancelledError, those in flight cancelled (each
  // ends with its cancelled result, or an error if a call it waited for was given up); returns
  // once every one has been reported.
  ~DecodeLoop() {
    if (thread_.joinable()) {
      thread_.request_stop();
      inbox_ready_.notify_all();
      loop_.wake();
      thread_.join();
    } else {
      shut_down();
    }
  }

  // Queues a conversation (copied); on_done gets its Outcome. Any thread, any time before the
  // loop is destroyed. The stream's sinks run on the loop's thread; its cancel token is honoured.
  Id submit(Conversation c, OnDone on_done, Stream stream = {}) {
    std::stop_token caller_cancel = stream.cancel;
    return submit_job(
        [c = std::move(c), stream = std::move(stream)](Slot& decoder, std::stop_token stop) {
          return decode_one(decoder, c, stream, std::move(stop));
        },
        std::move(on_done), std::move(caller_cancel));
  }

  // Queues any coroutine over a slot (the reference's passes use it); see Job.
  Id submit_job(Job job, OnDone on_done, std::stop_token also_cancel = {}) {
    std::lock_guard lock(inbox_mutex_);
    if (closed_) throw CancelledError("the decode loop is shutting down: nothing more is accepted");
    const Id id = next_id_++;
    live_.insert(id);
    Entry e{id, std::move(job), std::move(on_done), std::make_shared<std::stop_source>(), nullptr};
    if (also_cancel.stop_possible())  // the caller's own token cancels it too
      e.forward = std::make_shared<Forward>(std::move(also_cancel), Cancel{e.stop});
    inbox_.push_back(std::move(e));
    inbox_ready_.notify_all();
    loop_.wake();
    return id;
  }

  // Cancels a conversation: one waiting ends at once with a CancelledError, one in flight stops
  // at its next step and ends with its (cancelled) result. False if it had already ended.
  bool cancel(Id id) {
    std::lock_guard lock(inbox_mutex_);
    if (!live_.contains(id)) return false;
    cancels_.push_back(id);
    inbox_ready_.notify_all();
    loop_.wake();
    return true;
  }

  // Cancels every conversation not yet ended (a server's deadline).
  void cancel_all() {
    std::lock_guard lock(inbox_mutex_);
    cancels_.insert(cancels_.end(), live_.begin(), live_.end());
    inbox_ready_.notify_all();
    loop_.wake();
  }

  // Runs on this thread until nothing waits or runs (not together with start()).
  void run_until_idle() {
    while (true) {
      pump();
      if (loop_.active() == 0 && waiting_.empty()) {
        std::lock_guard lock(inbox_mutex_);
        if (inbox_.empty() && cancels_.empty()) break;
        continue;
      }
      if (!loop_.step() && !loop_.busy() && loop_.active() > 0)
        throw std::logic_error("wsd::DecodeLoop: conversations wait on no engine and can never resume");
      deliver();
    }
  }

  // Runs the loop on a thread of its own until the loop is destroyed.
  void start() {
    if (thread_.joinable()) return;
    thread_ = std::jthread([this](std::stop_token stop) { serve(stop); });
  }

  std::size_t slots() const { return decoders_.size(); }
  Slot& decoder(std::size_t i) { return decoders_.at(i); }
  // The engine loop's counters (batches, widest); read them while it does not run.
  const EngineLoop& engine_loop() const { return loop_; }

 private:
  struct Cancel {
    std::shared_ptr<std::stop_source> source;
    void operator()() const { source->request_stop(); }
  };
  using Forward = std::stop_callback<Cancel>;
  struct Entry {
    Id id;
    Job job;
    OnDone on_done;
    std::shared_ptr<std::stop_source> stop;
    std::shared_ptr<Forward> forward;
  };

  static Task<std::optional<Result>> decode_one(Slot& decoder, const Conversation& c, Stream stream,
                                                std::stop_token stop) {
    stream.cancel = std::move(stop);
    co_return co_await decoder.decode_task(c, std::move(stream));
  }

  // The loop's thread: takes in what was submitted and cancelled, admits waiting conversations to
  // free slots, reports what ended.
  void pump() {
    std::vector<Entry> fresh;
    std::vector<Id> cancels;
    {
      std::lock_guard lock(inbox_mutex_);
      fresh.swap(inbox_);
      cancels.swap(cancels_);
    }
    for (Entry& e : fresh) waiting_.push_back(std::move(e));
    for (Id id : cancels) {
      if (auto it = active_.find(id); it != active_.end()) {
        it->second.stop->request_stop();
        continue;
      }
      for (auto it = waiting_.begin(); it != waiting_.end(); ++it)
        if (it->id == id) {
          finished_.emplace_back(std::move(it->on_done), Outcome{id, std::nullopt, cancelled(id, "before it started")});
          waiting_.erase(it);
          break;
        }
    }
    while (!free_.empty() && !waiting_.empty()) {
      Entry e = std::move(waiting_.front());
      waiting_.pop_front();
      const std::size_t slot = free_.back();
      free_.pop_back();
      active_.emplace(e.id, Active{e.stop, std::move(e.on_done)});
      loop_.spawn(run(slot, std::move(e)));
    }
    deliver();
  }

  // One job on its slot, to its end.
  Task<void> run(std::size_t slot, Entry e) {
    Outcome out{e.id, std::nullopt, nullptr};
    bool report = true;
    try {
      std::optional<Result> r = co_await e.job(decoder(slot), e.stop->get_token());
      if (r)
        out.result = std::move(*r);
      else
        report = false;
    } catch (...) {
      out.error = std::current_exception();
    }
    free_.push_back(slot);
    if (!report) {
      std::lock_guard lock(inbox_mutex_);
      live_.erase(e.id);
    }
    auto it = active_.find(e.id);
    if (report) finished_.emplace_back(std::move(it->second.on_done), std::move(out));
    active_.erase(it);
  }

  // Reports what ended, outside the engine loop's step (a callback may use the models).
  void deliver() {
    while (!finished_.empty()) {
      std::vector<std::pair<OnDone, Outcome>> done;
      done.swap(finished_);
      {
        std::lock_guard lock(inbox_mutex_);
        for (const auto& d : done) live_.erase(d.second.index);
      }
      for (auto& [on_done, outcome] : done)
        if (on_done) on_done(std::move(outcome));
    }
  }

  static std::exception_ptr cancelled(Id id, const char* when) {
    return std::make_exception_ptr(CancelledError("conversation #" + std::to_string(id) + " was cancelled " + when));
  }

  void serve(std::stop_token stop) {
    while (!stop.stop_requested()) {
      pump();
      if (loop_.active() == 0 && waiting_.empty()) {
        std::unique_lock lock(inbox_mutex_);
        inbox_ready_.wait(lock, stop, [&] { return !inbox_.empty() || !cancels_.empty(); });
        continue;
      }
      loop_.step();
      deliver();
    }
    shut_down();
  }

  // Refuses new work, ends the waiting ones, cancels those in flight and runs them to their end.
  void shut_down() {
    {
      std::lock_guard lock(inbox_mutex_);
      closed_ = true;
    }
    pump();  // what was submitted before now is reported, not lost
    for (Entry& e : waiting_)
      finished_.emplace_back(std::move(e.on_done), Outcome{e.id, std::nullopt, cancelled(e.id, "as its loop shut down")});
    waiting_.clear();
    for (auto& [id, a] : active_) a.stop->request_stop();
    loop_.abandon_in_flight();
    while (loop_.active() > 0)
      if (!loop_.step(std::chrono::milliseconds(5)) && !loop_.busy()) break;
    for (auto& [id, a] : active_)  // could never resume: reported here, their coroutines dropped
      finished_.emplace_back(std::move(a.on_done), Outcome{id, std::nullopt, cancelled(id, "as its loop shut down")});
    active_.clear();
    deliver();
  }

  struct Active {
    std::shared_ptr<std::stop_source> stop;
    OnDone on_done;
  };

  std::vector<Decoder> decoders_;
  EngineLoop loop_;
  // The loop thread's own state.
  std::vector<std::size_t> free_;
  std::deque<Entry> waiting_;
  std::unordered_map<Id, Active> active_;
  std::vector<std::pair<OnDone, Outcome>> finished_;
  // Shared with submitting threads.
  std::mutex inbox_mutex_;
  std::condition_variable_any inbox_ready_;
  std::vector<Entry> inbox_;
  std::vector<Id> cancels_;
  std::unordered_set<Id> live_;  // submitted and not yet reported
  Id next_id_ = 0;
  bool closed_ = false;
  std::jthread thread_;  // last: stops before the rest goes
};

// Decodes the conversations through one DecodeLoop with decoders.size() slots (in the mode each
// decoder's limits name) and calls on_done(Outcome) for each as it ends, from this thread. A
// conversation that fails fails alone. The decoders' sequences should share engines (one
// LlamaContext per model, a sequence per slot) so that their calls are batched.
template <class Decoder, class OnDone>
LoopStats decode_parallel(std::span<Decoder> decoders, std::span<const Conversation> conversations, OnDone on_done) {
  std::vector<std::reference_wrapper<Decoder>> slots(decoders.begin(), decoders.end());
  DecodeLoop<std::reference_wrapper<Decoder>> loop(std::move(slots));
  for (std::size_t i = 0; i < conversations.size(); ++i)
    loop.submit(conversations[i], [&on_done, i](Outcome o) {
      o.index = i;
      on_done(std::move(o));
    });
  loop.run_until_idle();
  return loop.engine_loop().stats();
}

// The reference's pipeline as it runs in vLLM: pass 1 (the whole draft) over every conversation,
// then pass 2 (scores) over every one, then pass 3 (re-read and continue), each pass batched over
// the slots. on_done as for decode_parallel; a conversation that fails leaves the later passes.
template <class Decoder, class OnDone>
LoopStats decode_offline_batched(std::span<Decoder> decoders, std::span<const Conversation> conversations, OnDone on_done) {
  using Work = typename Decoder::OfflineWork;
  std::vector<std::reference_wrapper<Decoder>> slots(decoders.begin(), decoders.end());
  DecodeLoop<std::reference_wrapper<Decoder>> loop(std::move(slots));
  std::vector<std::optional<Work>> work(conversations.size());
  auto pass = [&](auto step) {
    for (std::size_t i = 0; i < conversations.size(); ++i) {
      if (!work[i] && step.needs_work) continue;  // failed in an earlier pass
      loop.submit_job([&, i, step](Decoder& d, std::stop_token) { return step(d, i); },
                      [&, i](Outcome o) {
                        o.index = i;
                        work[i].reset();
                        on_done(std::move(o));
                      });
    }
    loop.run_until_idle();
  };
  struct Draft {
    bool needs_work = false;
    std::span<const Conversation> cs;
    std::vector<std::optional<Work>>* work;
    Task<std::optional<Result>> operator()(Decoder& d, std::size_t i) const { return draft(d, cs[i], (*work)[i]); }
    static Task<std::optional<Result>> draft(Decoder& d, const Conversation& c, std::optional<Work>& w) {
      w.emplace(co_await d.offline_draft(c));
      co_return std::nullopt;
    }
  };
  struct Score {
    bool needs_work = true;
    std::vector<std::optional<Work>>* work;
    Task<std::optional<Result>> operator()(Decoder& d, std::size_t i) const { return score(d, *(*work)[i]); }
    static Task<std::optional<Result>> score(Decoder& d, Work& w) {
      co_await d.offline_score(w);
      co_return std::nullopt;
    }
  };
  struct Continue {
    bool needs_work = true;
    std::vector<std::optional<Work>>* work;
    Task<std::optional<Result>> operator()(Decoder& d, std::size_t i) const { return go_on(d, *(*work)[i]); }
    static Task<std::optional<Result>> go_on(Decoder& d, Work& w) { co_return co_await d.offline_continue(w); }
  };
  pass(Draft{false, conversations, &work});
  pass(Score{true, &work});
  pass(Continue{true, &work});
  return loop.engine_loop().stats();
}

}  // namespace wsd
