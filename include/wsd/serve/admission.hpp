#pragma once
// Admission and drain: a server takes at most `parallel + queue` conversations at once (a request
// for more is refused with 429, Retry-After), and on shutdown lets those it took finish within a
// grace period, then cancels the rest. Thread-safe.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>

#include "wsd/serve/api_error.hpp"

namespace wsd::serve {

class Admission {
 public:
  Admission(std::size_t parallel, std::size_t queue) : limit_(parallel + queue) {}

  // Takes n places (a request's n choices), or none (false) when that would pass the limit or
  // the server is closing.
  bool admit(std::size_t n) {
    std::lock_guard lock(mutex_);
    if (closing_ || outstanding_ + n > limit_) return false;
    outstanding_ += n;
    return true;
  }
  // n admitted conversations ended (a streamed request's once its stream is written out, so that
  // the drain does not stop the server under it).
  void release(std::size_t n = 1) {
    std::lock_guard lock(mutex_);
    outstanding_ -= std::min(n, outstanding_);
    ended_.notify_all();
  }
  std::size_t outstanding() const {
    std::lock_guard lock(mutex_);
    return outstanding_;
  }
  std::size_t limit() const { return limit_; }
  // The refusal of a request admit() did not take.
  ApiError refusal() const {
    if (closing()) return ApiError(503, "the server is shutting down", "", "server_error");
    return ApiError(429, "too many requests: " + std::to_string(limit_) +
                             " conversations are in flight or waiting; retry later",
                    "", "rate_limit_error");
  }

  // No new conversations from now on.
  void close() {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  bool closing() const {
    std::lock_guard lock(mutex_);
    return closing_;
  }

  // Closes, waits up to `grace` for the admitted conversations to end, then calls cancel_all()
  // and waits up to `after` for the cancelled ones to end. Returns how many had not ended.
  std::size_t drain(std::chrono::duration<double> grace, const std::function<void()>& cancel_all,
                    std::chrono::duration<double> after = std::chrono::seconds(5)) {
    close();
    std::unique_lock lock(mutex_);
    auto none = [&] { return outstanding_ == 0; };
    if (!ended_.wait_for(lock, grace, none)) {
      lock.unlock();
      cancel_all();
      lock.lock();
      ended_.wait_for(lock, after, none);
    }
    return outstanding_;
  }

 private:
  const std::size_t limit_;
  mutable std::mutex mutex_;
  std::condition_variable ended_;
  std::size_t outstanding_ = 0;
  bool closing_ = false;
};

}  // namespace wsd::serve
