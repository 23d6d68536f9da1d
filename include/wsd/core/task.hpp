#pragma once
// Task<T>: the coroutine type the decoder and its policies are written in, so that one decode
// loop serves one conversation (run_now: each model call made at once) and many in flight (an
// engine loop: a call an engine batches suspends the conversation until its batch has run).
// A plain value or a synchronous call is awaited as a ready result: co_await awaited(f) takes
// either, so a caller's own synchronous provider or policy works unchanged.
#include <concepts>
#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace wsd {

class Engine;
struct EngineCall;

// Where a model call goes while its conversation waits: an engine loop gathers the calls posted
// to each engine into one batch. A coroutine run without one (run_now) makes each call at once.
class CallQueue {
 public:
  virtual void post(const std::shared_ptr<Engine>& engine, EngineCall& call) = 0;

 protected:
  ~CallQueue() = default;
};

namespace detail {
// What every wsd coroutine knows: the queue its calls go to (passed down to the coroutines it
// awaits), the coroutine awaiting it, and what it failed with.
struct PromiseBase {
  CallQueue* queue = nullptr;
  std::coroutine_handle<> continuation;
  std::exception_ptr error;

  std::suspend_always initial_suspend() noexcept { return {}; }
  struct Final {
    bool await_ready() noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      const std::coroutine_handle<> next = h.promise().continuation;
      return next ? next : std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  Final final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { error = std::current_exception(); }
};

template <class T>
struct Promise : PromiseBase {
  std::optional<T> value;
  template <class U>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
};
template <>
struct Promise<void> : PromiseBase {
  void return_void() noexcept {}
};

// The queue of the coroutine behind h, when it is a wsd coroutine; none otherwise.
template <class P>
CallQueue* queue_of(std::coroutine_handle<P> h) {
  if constexpr (std::derived_from<P, PromiseBase>)
    return h.promise().queue;
  else
    return nullptr;
}
}  // namespace detail

// A lazily started coroutine returning T: it runs when awaited (or run_now / an engine loop).
template <class T = void>
class [[nodiscard]] Task {
 public:
  struct promise_type : detail::Promise<T> {
    Task get_return_object() { return Task(std::coroutine_handle<promise_type>::from_promise(*this)); }
  };
  using Handle = std::coroutine_handle<promise_type>;

  Task() = default;
  Task(Task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  Task& operator=(Task&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  ~Task() { reset(); }

  bool valid() const { return static_cast<bool>(h_); }
  bool done() const { return h_ && h_.done(); }
  Handle handle() const { return h_; }

  // Awaited from a coroutine: runs this one with the awaiting one's queue, then resumes it.
  struct Awaiter {
    Handle h;
    bool await_ready() const noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> parent) noexcept {
      h.promise().continuation = parent;
      h.promise().queue = detail::queue_of(parent);
      return h;
    }
    T await_resume() { return result_of(h); }
  };
  Awaiter operator co_await() && noexcept { return Awaiter{h_}; }

  // The result of a finished task: its value, or what it failed with.
  T result() { return result_of(h_); }

 private:
  explicit Task(Handle h) : h_(h) {}
  static T result_of(Handle h) {
    if (h.promise().error) std::rethrow_exception(h.promise().error);
    if constexpr (!std::is_void_v<T>) return std::move(*h.promise().value);
  }
  void reset() {
    if (h_) h_.destroy();
    h_ = {};
  }
  Handle h_;
};

// Something co_await takes: an awaiter, or a type with operator co_await.
template <class A>
concept Awaiter = requires(A& a) {
  { a.await_ready() } -> std::convertible_to<bool>;
  a.await_resume();
};
template <class A>
concept Awaitable = Awaiter<std::remove_cvref_t<A>> || requires(A&& a) { std::forward<A>(a).operator co_await(); };

namespace detail {
template <class A>
decltype(auto) get_awaiter(A&& a) {
  if constexpr (requires { std::forward<A>(a).operator co_await(); })
    return std::forward<A>(a).operator co_await();
  else
    return std::forward<A>(a);
}
}  // namespace detail

// What awaiting an A gives.
template <class A>
using await_result_t = decltype(detail::get_awaiter(std::declval<A>()).await_resume());

// A result at hand, awaited like a model call (never suspends). Awaiters here have constructors:
// GCC 12 destroys a braced aggregate temporary twice when it is co_awaited directly.
template <class T>
struct Ready {
  explicit Ready(T v) : value(std::move(v)) {}
  T value;
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  T await_resume() { return std::move(value); }
};
template <>
struct Ready<void> {
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  void await_resume() const noexcept {}
};

// R is T, or something that yields a T when awaited: what a policy's method may return.
template <class R, class T>
concept Yields = std::convertible_to<R, T> || (Awaitable<R> && std::convertible_to<await_result_t<R>, T>);

// Calls f and makes its result awaitable: an awaitable (a Task, a batched model call) as it is,
// a plain value or void as Ready. The one way the decoder and the policies call a part that
// may or may not be synchronous.
template <class F>
auto awaited(F&& f) {
  using R = std::invoke_result_t<F&>;
  if constexpr (std::is_void_v<R>) {
    f();
    return Ready<void>{};
  } else if constexpr (Awaitable<R>) {
    return f();
  } else {
    return Ready<R>{f()};
  }
}

// The result of f once awaited: the type a part's call gives the decoder.
template <class F>
using awaited_t = await_result_t<decltype(awaited(std::declval<F&>()))>;

// Runs a task to its end on this thread, each model call made at once (no loop, no batching):
// what decode() of one conversation is.
template <class T>
T run_now(Task<T> task) {
  auto h = task.handle();
  h.promise().queue = nullptr;
  h.resume();
  if (!h.done()) throw std::logic_error("wsd::run_now: a task suspended without an engine loop to resume it");
  return task.result();
}

// Any awaitable (a model call an engine batches, a provider's awaited form) run now: blocking.
template <class A>
  requires(Awaitable<A> && !std::is_lvalue_reference_v<A>)
auto run_now(A&& awaitable) {
  using T = await_result_t<A>;
  return run_now([](std::remove_cvref_t<A> a) -> Task<T> { co_return co_await std::move(a); }(std::move(awaitable)));
}

}  // namespace wsd
