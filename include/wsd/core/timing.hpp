#pragma once
// Wall-clock accounting of where a response's time goes.
#include <chrono>

namespace wsd {

using Clock = std::chrono::steady_clock;

// Adds the lifetime of a scope to a seconds counter.
class ScopedTimer {
 public:
  explicit ScopedTimer(double& seconds) : seconds_(seconds), start_(Clock::now()) {}
  ~ScopedTimer() { seconds_ += std::chrono::duration<double>(Clock::now() - start_).count(); }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

 private:
  double& seconds_;
  Clock::time_point start_;
};

}  // namespace wsd
