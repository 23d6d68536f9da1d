#pragma once
// Engine: a model whose calls can be batched (a llama.cpp context holding many sequences, a
// server taking many requests). A sequence's call is an EngineCall; awaited from a wsd coroutine
// run by an engine loop it waits for the engine's next batch, otherwise it runs at once.
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <span>
#include <utility>
#include <vector>

#include "wsd/core/task.hpp"

namespace wsd {

// One call waiting for its engine: the coroutine to resume once it is done, the loop it belongs
// to, and its error if it failed. An engine's own call type derives from it.
struct EngineCall {
  std::coroutine_handle<> waiter;
  const CallQueue* queue = nullptr;
  std::exception_ptr error;
};

class Engine {
 public:
  virtual ~Engine() = default;
  Engine() = default;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Runs the calls as one batch (an engine that completes_later() starts them). A call that
  // fails gets its error and the others go on; an error escaping run() fails the calls without
  // one. One batch at a time: callers on several threads are serialized here.
  void run_batch(std::span<EngineCall* const> calls) {
    std::lock_guard lock(mutex_);
    try {
      run(calls);
    } catch (...) {
      for (EngineCall* c : calls)
        if (!c->error) c->error = std::current_exception();
    }
  }

  // A call alone, finished when this returns (no loop: a synchronous provider call).
  virtual void run_now(EngineCall& call) {
    EngineCall* one = &call;
    run_batch(std::span<EngineCall* const>(&one, 1));
  }

  // Engines whose calls finish after run() returns (requests to a server). poll() waits up to
  // `wait` for progress and appends the calls of loop `mine` that finished; abandon() gives up a
  // call in flight (it finishes at the next poll with an error); wake() ends a poll early from
  // another thread.
  virtual bool completes_later() const { return false; }
  virtual void poll(const CallQueue* /*mine*/, std::chrono::milliseconds /*wait*/,
                    std::vector<EngineCall*>& /*finished*/) {}
  virtual void abandon(EngineCall& /*call*/) {}
  virtual void wake() {}

 protected:
  virtual void run(std::span<EngineCall* const> calls) = 0;

 private:
  std::mutex mutex_;
};

// Posts `call` to its engine from the coroutine behind h: to the loop running it (true: h is
// suspended until the loop resumes it), or runs it at once when there is none (false: h goes on).
template <class P>
bool post_or_run(const std::shared_ptr<Engine>& engine, EngineCall& call, std::coroutine_handle<P> h) {
  if (CallQueue* queue = detail::queue_of(h)) {
    call.waiter = h;
    call.queue = queue;
    queue->post(engine, call);
    return true;
  }
  engine->run_now(call);
  return false;
}

// The awaiter of one engine call: co_await posted(engine, call, finish) posts the call to the
// loop running the awaiting coroutine (or runs it at once without one), then gives finish(call)
// (which rethrows the call's error). `ready`: nothing to run, finish at once. Call derives from
// EngineCall; the awaiter owns it while it is out.
template <class Call, class Finish>
class Posted {
 public:
  Posted(std::shared_ptr<Engine> engine, Call call, Finish finish, bool ready = false)
      : engine_(std::move(engine)), call_(std::move(call)), finish_(std::move(finish)), ready_(ready) {}
  // The call built in place (a call that cannot move), from `args`.
  template <class... Args>
  Posted(std::in_place_t, std::shared_ptr<Engine> engine, Finish finish, Args&&... args)
      : engine_(std::move(engine)), call_(std::forward<Args>(args)...), finish_(std::move(finish)), ready_(false) {}
  bool await_ready() const noexcept { return ready_; }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    return post_or_run(engine_, call_, h);
  }
  decltype(auto) await_resume() { return finish_(call_); }

 private:
  std::shared_ptr<Engine> engine_;
  Call call_;
  Finish finish_;
  bool ready_;
};
template <class Call, class Finish>
Posted<Call, Finish> posted(std::shared_ptr<Engine> engine, Call call, Finish finish, bool ready = false) {
  return Posted<Call, Finish>(std::move(engine), std::move(call), std::move(finish), ready);
}

}  // namespace wsd
