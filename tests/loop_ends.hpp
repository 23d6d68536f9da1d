#pragma once
// A decode loop's conversations' ends as a test collects them: each outcome by the id it was
// submitted under, how many times each ended, and wait() until n have ended.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <wsd/batch/decode_loop.hpp>

namespace wsd::test {

struct Ends {
  std::mutex mutex;
  std::condition_variable cv;
  std::map<std::size_t, wsd::Outcome> outcomes;
  std::map<std::size_t, int> count;
  std::function<void(wsd::Outcome)> on_done() {
    return [this](wsd::Outcome o) {
      std::lock_guard lock(mutex);
      ++count[o.index];
      outcomes[o.index] = std::move(o);
      cv.notify_all();
    };
  }
  bool wait(std::size_t n, std::chrono::seconds limit) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, limit, [&] { return outcomes.size() >= n; });
  }
};

}  // namespace wsd::test
