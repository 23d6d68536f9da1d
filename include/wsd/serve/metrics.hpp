#pragma once
// A server's counters in Prometheus' text format (/metrics): requests by status, tokens drafted,
// judged and written, cancelled answers, each model's seconds, where each model runs, the queue
// and the switch index as a histogram. Thread-safe: handlers and the decode loop report to it.
#include <array>
#include <cstddef>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "wsd/batch/decode_loop.hpp"
#include "wsd/core/errors.hpp"
#include "wsd/core/result.hpp"

namespace wsd::serve {

class Metrics {
 public:
  // A response sent with this status.
  void status(int s) {
    std::lock_guard lock(mutex_);
    ++requests_[s];
  }
  // An answer that ended (finished or cancelled).
  void answer(const Result& r) {
    std::lock_guard lock(mutex_);
    drafted_ += r.weak_tokens;
    judged_ += r.probs.size();
    written_ += r.strong_generated;
    weak_s_ += r.timing.weak_s;
    strong_s_ += r.timing.strong_s;
    if (r.cancelled()) ++cancelled_;
    const long k = r.accept_index + 1;  // drafted tokens kept
    std::size_t b = kBounds.size();
    for (std::size_t i = 0; i < kBounds.size(); ++i)
      if (k <= kBounds[i]) {
        b = i;
        break;
      }
    ++switch_buckets_[b];
    switch_sum_ += static_cast<std::size_t>(k);
  }
  // A conversation that ended: its answer, or a cancel before it started (counted as cancelled).
  void ended(const Outcome& o) {
    if (o.result) return answer(*o.result);
    try {
      if (o.error) std::rethrow_exception(o.error);
    } catch (const CancelledError&) {
      std::lock_guard lock(mutex_);
      ++cancelled_;
    } catch (...) {
    }
  }
  // Where each model runs ("Vulkan0: llvmpipe ...", "CPU", "the server at URL"), once loaded, and
  // how each computes and batches (for /health: the kernels, the physical batch exact mode runs
  // at, whether conversations share batches; null for a model on a server).
  void devices(std::string weak, std::string strong, nlohmann::json weak_engine = nullptr, nlohmann::json strong_engine = nullptr) {
    std::lock_guard lock(mutex_);
    weak_device_ = std::move(weak);
    strong_device_ = std::move(strong);
    engines_ = {{"weak", std::move(weak_engine)}, {"strong", std::move(strong_engine)}};
  }
  nlohmann::json devices_json() const {
    std::lock_guard lock(mutex_);
    return {{"weak", weak_device_}, {"strong", strong_device_}};
  }
  nlohmann::json engines_json() const {
    std::lock_guard lock(mutex_);
    return engines_;
  }
  std::size_t requests(int status) const {
    std::lock_guard lock(mutex_);
    const auto it = requests_.find(status);
    return it == requests_.end() ? 0 : it->second;
  }

  // The text of /metrics; `queue` is the conversations admitted and not yet ended.
  std::string text(std::size_t queue) const {
    std::lock_guard lock(mutex_);
    std::string out = "# TYPE wsd_model_device gauge\n";
    for (const auto& [model, device] : {std::pair{"weak", &weak_device_}, std::pair{"strong", &strong_device_}})
      if (!device->empty())
        out += "wsd_model_device{model=\"" + std::string(model) + "\",device=\"" + label(*device) + "\"} 1\n";
    out += "# TYPE wsd_requests_total counter\n";
    for (const auto& [s, n] : requests_)
      out += "wsd_requests_total{status=\"" + std::to_string(s) + "\"} " + std::to_string(n) + "\n";
    auto counter = [&](const char* name, std::size_t v) {
      out += std::string("# TYPE ") + name + " counter\n" + name + " " + std::to_string(v) + "\n";
    };
    counter("wsd_tokens_drafted_total", drafted_);
    counter("wsd_tokens_judged_total", judged_);
    counter("wsd_tokens_written_total", written_);
    counter("wsd_answers_cancelled_total", cancelled_);
    out += "# TYPE wsd_model_seconds_total counter\nwsd_model_seconds_total{model=\"weak\"} " + std::to_string(weak_s_) +
           "\nwsd_model_seconds_total{model=\"strong\"} " + std::to_string(strong_s_) + "\n";
    out += "# TYPE wsd_queue_length gauge\nwsd_queue_length " + std::to_string(queue) + "\n";
    out += "# TYPE wsd_switch_index histogram\n";
    std::size_t cumulative = 0;
    for (std::size_t i = 0; i <= kBounds.size(); ++i) {
      cumulative += switch_buckets_[i];
      const std::string le = i < kBounds.size() ? std::to_string(kBounds[i]) : "+Inf";
      out += "wsd_switch_index_bucket{le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
    }
    out += "wsd_switch_index_sum " + std::to_string(switch_sum_) + "\n";
    out += "wsd_switch_index_count " + std::to_string(cumulative) + "\n";
    return out;
  }

 private:
  // The histogram's upper bounds on the drafted tokens kept (then +Inf).
  static constexpr std::array<long, 7> kBounds = {0, 1, 2, 4, 8, 16, 32};

  // A Prometheus label value: \\, \" and \n escaped.
  static std::string label(const std::string& v) {
    std::string out;
    for (char c : v) {
      if (c == '"') out += "\\\"";
      else if (c == '\\') out += "\\\\";
      else if (c == '\n') out += "\\n";
      else out += c;
    }
    return out;
  }

  mutable std::mutex mutex_;
  std::map<int, std::size_t> requests_;  // by status
  std::size_t drafted_ = 0, judged_ = 0, written_ = 0, cancelled_ = 0;
  double weak_s_ = 0, strong_s_ = 0;
  std::vector<std::size_t> switch_buckets_ = std::vector<std::size_t>(kBounds.size() + 1, 0);
  std::size_t switch_sum_ = 0;  // drafted tokens kept, over every answer (the histogram's _sum)
  std::string weak_device_, strong_device_;
  nlohmann::json engines_ = {{"weak", nullptr}, {"strong", nullptr}};
};

}  // namespace wsd::serve
