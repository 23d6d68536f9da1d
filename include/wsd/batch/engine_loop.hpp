#pragma once
// EngineLoop: runs many coroutines (conversations in flight) on one thread. Each runs until it
// awaits a model call; the calls posted to each engine are then run as one batch and their
// coroutines resumed. Engines that complete later (a server's requests) are polled meanwhile, so
// a conversation waiting on a server holds up nobody. Not thread-safe: one thread drives it
// (wsd::DecodeLoop adds submitting and cancelling from other threads).
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "wsd/core/engine.hpp"
#include "wsd/core/task.hpp"

namespace wsd {

// What an engine loop ran: batches of engines that complete now, the calls they held, the widest.
struct LoopStats {
  std::size_t batches = 0;
  std::size_t calls = 0;
  std::size_t widest = 0;
};

class EngineLoop final : public CallQueue {
 public:
  EngineLoop() = default;
  EngineLoop(const EngineLoop&) = delete;
  EngineLoop& operator=(const EngineLoop&) = delete;
  // Coroutines still in flight are destroyed without being resumed (their calls given up); a
  // caller that wants their ends drains first (cancel them, then run until idle).
  ~EngineLoop() {
    for (Queue& q : queues_) {
      for (EngineCall* c : q.in_flight) q.engine->abandon(*c);
      std::vector<EngineCall*> gone;  // collected, not resumed: the engine forgets them
      if (!q.in_flight.empty()) q.engine->poll(this, std::chrono::milliseconds(0), gone);
    }
    queues_.clear();
    tasks_.clear();
  }

  // Starts a coroutine: it runs at once until its first awaited call. Its errors are its own
  // business (it ends when it ends; see done()).
  void spawn(Task<void> task) {
    auto h = task.handle();
    h.promise().queue = this;
    tasks_.push_back(std::move(task));
    h.resume();
    sweep();
  }

  // One round: starts what waits for an engine that completes later, runs the batch of the engine
  // with the most calls waiting and resumes them, then collects the calls finished elsewhere
  // (waiting up to `wait` for them when there was no batch to run). False: nothing to do.
  bool step(std::chrono::milliseconds wait = std::chrono::milliseconds(20)) {
    bool worked = false;
    for (Queue& q : queues_)
      if (q.engine->completes_later() && !q.waiting.empty()) {
        std::vector<EngineCall*> batch;
        batch.swap(q.waiting);
        q.engine->run_batch(batch);
        q.in_flight.insert(q.in_flight.end(), batch.begin(), batch.end());
        worked = true;
      }
    Queue* widest = nullptr;
    for (Queue& q : queues_)
      if (!q.engine->completes_later() && !q.waiting.empty() && (!widest || q.waiting.size() > widest->waiting.size()))
        widest = &q;
    if (widest) {
      std::vector<EngineCall*> batch;
      batch.swap(widest->waiting);
      ++batches_;
      calls_ += batch.size();
      widest_ = std::max(widest_, batch.size());
      widest->engine->run_batch(batch);
      for (EngineCall* c : batch) c->waiter.resume();
      worked = true;
    }
    for (std::size_t i = 0; i < queues_.size(); ++i) {  // by index: resuming may add queues
      if (queues_[i].in_flight.empty()) continue;
      std::vector<EngineCall*> finished;
      queues_[i].engine->poll(this, worked ? std::chrono::milliseconds(0) : wait, finished);
      for (EngineCall* c : finished) {
        auto& flight = queues_[i].in_flight;
        flight.erase(std::remove(flight.begin(), flight.end(), c), flight.end());
      }
      for (EngineCall* c : finished) c->waiter.resume();
      worked = worked || !finished.empty() || !queues_[i].in_flight.empty();
    }
    sweep();
    return worked;
  }

  // Runs rounds until every coroutine has ended.
  void run_until_idle() {
    while (!tasks_.empty())
      if (!step() && !busy()) break;  // nothing waits on any engine: the rest can never resume
  }

  // Coroutines in flight, and whether any waits on an engine.
  std::size_t active() const { return tasks_.size(); }
  bool busy() const {
    for (const Queue& q : queues_)
      if (!q.waiting.empty() || !q.in_flight.empty()) return true;
    return false;
  }

  // Gives up every call to engines that complete later (a shutdown: they end with an error).
  void abandon_in_flight() {
    for (Queue& q : queues_)
      for (EngineCall* c : q.in_flight) q.engine->abandon(*c);
  }
  // Ends polls of engines that complete later early (any thread).
  void wake() {
    std::lock_guard lock(wake_mutex_);
    for (const auto& e : engines_) e->wake();
  }

  // Batches run so far (engines that complete now), the calls they held, and the widest.
  std::size_t batches() const { return batches_; }
  std::size_t calls() const { return calls_; }
  std::size_t widest_batch() const { return widest_; }
  LoopStats stats() const { return {batches_, calls_, widest_}; }

  void post(const std::shared_ptr<Engine>& engine, EngineCall& call) override {
    for (Queue& q : queues_)
      if (q.engine == engine) {
        q.waiting.push_back(&call);
        return;
      }
    queues_.push_back(Queue{engine, {&call}, {}});
    if (engine->completes_later()) {
      std::lock_guard lock(wake_mutex_);
      engines_.push_back(engine);
    }
  }

 private:
  struct Queue {
    std::shared_ptr<Engine> engine;  // held while the loop knows it
    std::vector<EngineCall*> waiting;
    std::vector<EngineCall*> in_flight;
  };

  // Forgets the coroutines that have ended.
  void sweep() {
    std::erase_if(tasks_, [](const Task<void>& t) { return t.done(); });
  }

  std::vector<Queue> queues_;
  std::mutex wake_mutex_;
  std::vector<std::shared_ptr<Engine>> engines_;  // those to wake (under wake_mutex_)
  std::vector<Task<void>> tasks_;
  std::size_t batches_ = 0, calls_ = 0, widest_ = 0;
};

}  // namespace wsd
