#pragma once
// BatchScheduler: many conversations in flight, each on its own thread, and the model calls they
// make merged into one batched call per model. A conversation's thread calls a sequence's append
// as it always does; the call waits until every thread taking part has submitted a call (or left),
// then the scheduler's own thread runs each model's pending calls as one batch and all go on. The
// decode loop is the same function whether one conversation runs or many. One thread runs every
// batch: llama.cpp's CPU backend keeps a team of compute threads per calling thread (OpenMP), and
// the teams of several callers spinning at once would fight over the cores.
#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace wsd {

class BatchScheduler {
 public:
  // A call waiting for its batch: done once its engine has run it; error if it failed.
  struct Request {
    bool done = false;
    std::exception_ptr error;
  };

  // A model whose calls are batched: run(requests) executes them together (called by one thread at
  // a time, never under the scheduler's lock). Without a scheduler a call runs at once, alone.
  class Engine {
   public:
    explicit Engine(BatchScheduler* scheduler) : scheduler_(scheduler) {
      if (scheduler_) scheduler_->attach(this);
    }
    virtual ~Engine() {
      if (scheduler_) scheduler_->detach(this);
    }
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    BatchScheduler* scheduler() const { return scheduler_; }

   protected:
    // Runs the request in the next batch of this engine and returns when it is done; rethrows
    // what it failed with.
    void submit(Request& request) {
      if (!scheduler_) {
        run_each({&request});
      } else {
        scheduler_->wait_for(this, request);
      }
      if (request.error) std::rethrow_exception(request.error);
    }

    virtual void run(const std::vector<Request*>& requests) = 0;

   private:
    friend class BatchScheduler;
    // Runs a batch; an exception that escapes run() fails every request of it without an error.
    void run_each(const std::vector<Request*>& batch) {
      try {
        run(batch);
      } catch (...) {
        for (Request* r : batch)
          if (!r->error) r->error = std::current_exception();
      }
    }

    BatchScheduler* scheduler_;
    std::vector<Request*> pending_;
  };

  // A thread taking part (a conversation's worker): while a Member lives, batches wait for its
  // next call. A thread that is not a member may submit too; its calls never wait for others.
  class Member {
   public:
    explicit Member(BatchScheduler* s) : s_(s) {
      if (s_) s_->join();
    }
    ~Member() {
      if (s_) s_->leave();
    }
    Member(const Member&) = delete;
    Member& operator=(const Member&) = delete;

   private:
    BatchScheduler* s_;
  };

  // Members taken up front for threads about to start, so that the first to start does not run a
  // batch alone; each thread releases its own with release() when it is done.
  class Members {
   public:
    Members(BatchScheduler* s, std::size_t n) : s_(s), left_(n) {
      if (s_) s_->join(n);
    }
    ~Members() {
      while (left_ > 0) release();
    }
    Members(const Members&) = delete;
    Members& operator=(const Members&) = delete;
    void release() {
      std::lock_guard lock(mutex_);
      if (left_ == 0) return;
      --left_;
      if (s_) s_->leave();
    }

   private:
    BatchScheduler* s_;
    std::mutex mutex_;
    std::size_t left_;
  };

  // A member that waits on something else for a while (a remote server, a file): batches do not
  // wait for it meanwhile. Nested on one thread (a call that calls back), only the outermost counts.
  class Away {
   public:
    explicit Away(BatchScheduler* s) : s_(s) {
      if (s_ && depth()++ == 0) s_->leave();
    }
    ~Away() {
      if (s_ && --depth() == 0) s_->join();
    }
    Away(const Away&) = delete;
    Away& operator=(const Away&) = delete;

   private:
    static int& depth() {
      thread_local int d = 0;
      return d;
    }
    BatchScheduler* s_;
  };

  BatchScheduler() : runner_([this](std::stop_token stop) { run_batches(stop); }) {}
  ~BatchScheduler() {
    runner_.request_stop();
    {
      std::lock_guard lock(mutex_);
      work_.notify_all();
    }
    runner_.join();
  }
  BatchScheduler(const BatchScheduler&) = delete;
  BatchScheduler& operator=(const BatchScheduler&) = delete;

  // Batches run so far, and the largest number of calls one of them merged (for the harness).
  std::size_t batches() const {
    std::lock_guard lock(mutex_);
    return batches_;
  }
  std::size_t widest_batch() const {
    std::lock_guard lock(mutex_);
    return widest_;
  }

 private:
  void attach(Engine* e) {
    std::lock_guard lock(mutex_);
    engines_.push_back(e);
  }
  void detach(Engine* e) {
    std::lock_guard lock(mutex_);
    engines_.erase(std::remove(engines_.begin(), engines_.end(), e), engines_.end());
  }
  void join(std::size_t n = 1) {
    std::lock_guard lock(mutex_);
    members_ += n;
  }
  void leave() {
    std::lock_guard lock(mutex_);
    --members_;
    if (batch_due()) work_.notify_one();  // the others may be all that is left
  }

  // Queues the request and waits until the runner has done it.
  void wait_for(Engine* engine, Request& request) {
    std::unique_lock lock(mutex_);
    engine->pending_.push_back(&request);
    ++waiting_;
    if (batch_due()) work_.notify_one();
    ready_.wait(lock, [&] { return request.done; });
  }

  // Every member has a call waiting (a thread that is not a member counts as one more).
  bool batch_due() const { return waiting_ > 0 && waiting_ >= members_; }

  // The runner: whenever a batch is due, each engine's pending calls as one batch, then wake them.
  void run_batches(std::stop_token stop) {
    std::unique_lock lock(mutex_);
    while (true) {
      work_.wait(lock, [&] { return stop.stop_requested() || batch_due(); });
      if (stop.stop_requested()) return;
      run_pending(lock);
      ready_.notify_all();
    }
  }

  // Runs the engine with the most calls waiting; the calls of the others wait for a later batch.
  // Conversations thus fall into step (all drafting, then all scoring, ...), which keeps each
  // batch wide: a model's batch holds only the calls made to it, and llama.cpp's CPU kernels
  // gain from wide physical batches only.
  void run_pending(std::unique_lock<std::mutex>& lock) {
    Engine* e = nullptr;
    for (Engine* candidate : engines_)
      if (!e || candidate->pending_.size() > e->pending_.size()) e = candidate;
    if (!e || e->pending_.empty()) return;
    std::vector<Request*> batch;
    batch.swap(e->pending_);
    ++batches_;
    widest_ = std::max(widest_, batch.size());
    lock.unlock();
    e->run_each(batch);
    lock.lock();
    for (Request* r : batch) r->done = true;  // under the lock: their threads read it under it
    waiting_ -= batch.size();  // their threads are free to go on, counted as working again
  }

  mutable std::mutex mutex_;
  std::condition_variable ready_;  // members: a batch is done
  std::condition_variable work_;   // the runner: a batch is due
  std::vector<Engine*> engines_;
  std::size_t members_ = 0;
  std::size_t waiting_ = 0;
  std::size_t batches_ = 0;
  std::size_t widest_ = 0;
  std::jthread runner_;  // last: starts once everything above is set up
};

}  // namespace wsd
