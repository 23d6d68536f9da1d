#pragma once
// Many conversations in flight: one decoder per worker thread, each worker a member of a
// BatchScheduler so that the model calls of all of them are merged into batches, and a worker
// takes the next conversation as soon as its last one is done (continuous batching). The decode
// loop is the decoder's own; nothing here knows the algorithm.
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "wsd/batch/batch_scheduler.hpp"
#include "wsd/core/conversation.hpp"
#include "wsd/core/result.hpp"

namespace wsd {

// One conversation's end: its result, or what it failed with (a wsd::Error names the conversation).
struct Outcome {
  std::size_t index = 0;  // into the conversations given
  std::optional<Result> result;
  std::exception_ptr error;
};

// Runs work(worker, item) for each item in [0, items) on `workers` threads (worker < workers), each
// a member of the scheduler (if any) while it runs; the next item goes to the first free worker.
// An exception escaping work stops the handing out; the first is rethrown once all threads ended.
template <class Work>
void for_each_parallel(std::size_t items, std::size_t workers, BatchScheduler* scheduler, Work&& work) {
  workers = std::max<std::size_t>(1, std::min(workers, items));
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr first_error;
  std::mutex error_mutex;
  auto loop = [&](std::size_t worker) {
    try {
      for (std::size_t i; !failed && (i = next++) < items;) work(worker, i);
    } catch (...) {
      std::lock_guard lock(error_mutex);
      if (!first_error) first_error = std::current_exception();
      failed = true;
    }
  };
  if (workers == 1 || items == 0) {
    BatchScheduler::Member member(scheduler);
    loop(0);
  } else {
    BatchScheduler::Members members(scheduler, workers);  // all take part from the start
    std::vector<std::jthread> threads;
    threads.reserve(workers);
    for (std::size_t w = 0; w < workers; ++w)
      threads.emplace_back([&, w] {
        loop(w);
        members.release();  // this worker is done: batches no longer wait for it
      });
    threads.clear();  // joins
  }
  if (first_error) std::rethrow_exception(first_error);
}

namespace detail {
// Calls on_done(Outcome) from one thread at a time.
template <class OnDone>
class Reporter {
 public:
  explicit Reporter(OnDone& on_done) : on_done_(on_done) {}
  void operator()(Outcome outcome) {
    std::lock_guard lock(mutex_);
    on_done_(std::move(outcome));
  }

 private:
  OnDone& on_done_;
  std::mutex mutex_;
};

template <class F>
Outcome outcome_of(std::size_t index, F&& f) {
  Outcome out{index, std::nullopt, nullptr};
  try {
    out.result = f();
  } catch (...) {
    out.error = std::current_exception();
  }
  return out;
}
}  // namespace detail

// Decodes the conversations with decoders.size() workers (worker w uses decoders[w], in the mode
// its configuration names: online, or the reference's passes one conversation at a time) and
// calls on_done(Outcome) for each as it ends, from one thread at a time. A conversation that fails
// fails alone. The decoders' models should share one scheduler (LlamaContext(model, n, &scheduler)).
template <class Decoder, class OnDone>
void decode_parallel(std::span<Decoder> decoders, std::span<const Conversation> conversations,
                     BatchScheduler* scheduler, OnDone on_done) {
  detail::Reporter report(on_done);
  for_each_parallel(conversations.size(), decoders.size(), scheduler, [&](std::size_t w, std::size_t i) {
    report(detail::outcome_of(i, [&] { return decoders[w].decode(conversations[i]); }));
  });
}

// The reference's pipeline as it runs in vLLM: pass 1 (the whole draft) over every conversation,
// then pass 2 (scores) over every one, then pass 3 (re-read and continue), each pass batched over
// the workers. on_done as for decode_parallel; a conversation that fails leaves the later passes.
template <class Decoder, class OnDone>
void decode_offline_batched(std::span<Decoder> decoders, std::span<const Conversation> conversations,
                            BatchScheduler* scheduler, OnDone on_done) {
  using Work = typename Decoder::OfflineWork;
  detail::Reporter report(on_done);
  std::vector<std::optional<Work>> work(conversations.size());
  auto pass = [&](auto&& step) {
    for_each_parallel(conversations.size(), decoders.size(), scheduler, [&](std::size_t w, std::size_t i) {
      try {
        step(decoders[w], i);
      } catch (...) {
        work[i].reset();
        report(Outcome{i, std::nullopt, std::current_exception()});
      }
    });
  };
  pass([&](Decoder& d, std::size_t i) { work[i].emplace(d.offline_draft(conversations[i])); });
  pass([&](Decoder& d, std::size_t i) {
    if (work[i]) d.offline_score(*work[i]);
  });
  pass([&](Decoder& d, std::size_t i) {
    if (!work[i]) return;
    Result r = d.offline_continue(*work[i]);
    work[i].reset();
    report(Outcome{i, std::move(r), nullptr});
  });
}

}  // namespace wsd
