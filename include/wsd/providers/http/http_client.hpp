#pragma once
// HttpClient: JSON over HTTP on libcurl, for the providers that reach a model on a server. Every
// failure is a ProviderError naming the method, the URL and what was wrong; connection errors and
// HTTP 5xx/429 are retried a bounded number of times with doubling waits, nothing else is.
// A request is an HttpTransfer: sent at once on the calling thread (get, post, post_stream), or
// awaited from a coroutine (post_async, post_stream_async), which an engine loop sends through an
// HttpEngine: libcurl's multi interface, many requests in flight on the loop's thread.
#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>

#include "wsd/core/engine.hpp"
#include "wsd/core/errors.hpp"
#include "wsd/core/timing.hpp"

namespace wsd {

struct HttpOptions {
  double timeout_s = 600.0;  // a whole request; a stream fails after this long without a byte
  int retries = 3;           // more attempts after a connection error or HTTP 5xx/429
  double backoff_s = 0.5;    // the wait before the first retry, doubled before each next one
  std::string api_key;       // sent as a bearer token when not empty; never printed
};

class HttpEngine;

class HttpClient {
 public:
  // A response that arrived: its status and body (any status; post_json() checks them).
  struct Response {
    long status = 0;
    std::string body;
  };
  // Called with each server-sent event's data (the JSON after "data: "); false hangs up.
  using EventCallback = std::function<bool(const nlohmann::json&)>;

  HttpClient(std::string base_url, HttpOptions options) : base_(std::move(base_url)), options_(std::move(options)) {
    while (!base_.empty() && base_.back() == '/') base_.pop_back();
    static const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);  // once, before any thread uses curl
    if (init != CURLE_OK) throw ProviderError(std::string("libcurl could not start: ") + curl_easy_strerror(init));
  }

  const std::string& base_url() const { return base_; }
  const HttpOptions& options() const { return options_; }
  std::string url(std::string_view path) const { return base_ + std::string(path); }
  // HTTP requests sent so far (retries included), from every thread.
  std::size_t requests() const { return requests_.load(); }
  // Of those, the requests sent at once on the calling thread (blocking it), not through an engine loop.
  std::size_t requests_at_once() const { return at_once_.load(); }

  // GET/POST base_url + path and the response, whatever its status (retried as above).
  Response get(std::string_view path) const { return send("GET", path, nullptr, nullptr); }
  Response post(std::string_view path, const nlohmann::json& body) const { return send("POST", path, &body, nullptr); }

  // The JSON body of a 2xx response; any other status or a body that is not JSON is an error.
  nlohmann::json get_json(std::string_view path) const { return json_of("GET", path, get(path)); }
  nlohmann::json post_json(std::string_view path, const nlohmann::json& body) const {
    return json_of("POST", path, post(path, body));
  }

  // The JSON body of a response that arrived (get/post): an error unless 2xx and JSON.
  nlohmann::json json_of(std::string_view method, std::string_view path, const Response& r) const {
    if (r.status < 200 || r.status >= 300) fail_status(method, path, r);
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_discarded())
      throw ProviderError(std::string(method) + " " + url(path) + ": the answer is not JSON: " + excerpt(r.body));
    return j;
  }

  // POSTs with "stream": true and calls on_event for each event until "[DONE]" or until it returns
  // false (the connection is then closed, which tells the server to stop).
  void post_stream(std::string_view path, const nlohmann::json& body, const EventCallback& on_event) const {
    (void)send("POST", path, &body, &on_event);
  }

  // The error for a non-2xx response: its status and the server's own message.
  [[noreturn]] void fail_status(std::string_view method, std::string_view path, const Response& r) const {
    throw ProviderError(std::string(method) + " " + url(path) + ": HTTP " + std::to_string(r.status) + ": " +
                        server_message(r.body));
  }

  // One request, attempt after attempt: a fresh easy handle each (begin), then the verdict on what
  // came back (end: done, or again after wait(); an error that is final is thrown).
  class Transfer : public EngineCall {
   public:
    Transfer(const HttpClient& client, std::string method, std::string path, std::string payload,
             const EventCallback* on_event)
        : client_(client),
          method_(std::move(method)),
          path_(std::move(path)),
          target_(client.url(path_)),
          payload_(std::move(payload)),
          on_event_(on_event),
          wait_(client.options().backoff_s) {}
    Transfer(const Transfer&) = delete;
    Transfer& operator=(const Transfer&) = delete;

    CURL* begin() {
      response_ = {};
      pending_.clear();
      status_ = 0;
      curl_.reset(curl_easy_init());
      if (!curl_) throw ProviderError(method_ + " " + target_ + ": libcurl could not make a handle");
      curl_slist* raw_headers = curl_slist_append(nullptr, "Content-Type: application/json");
      raw_headers = curl_slist_append(raw_headers, "Accept: application/json, text/event-stream");
      raw_headers = curl_slist_append(raw_headers, "Expect:");  // no 100-continue round trip for large bodies
      const HttpOptions& o = client_.options();
      if (!o.api_key.empty()) raw_headers = curl_slist_append(raw_headers, ("Authorization: Bearer " + o.api_key).c_str());
      headers_.reset(raw_headers);
      CURL* c = curl_.get();
      curl_easy_setopt(c, CURLOPT_URL, target_.c_str());
      curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers_.get());
      curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(c, CURLOPT_PRIVATE, static_cast<void*>(this));
      curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(o.timeout_s, 30.0) * 1000));
      if (on_event_) {  // a long answer may take long: fail only when the stream stalls
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, std::max(1L, static_cast<long>(o.timeout_s)));
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Transfer::on_stream);
      } else {
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(o.timeout_s * 1000));
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Transfer::on_body);
      }
      curl_easy_setopt(c, CURLOPT_WRITEDATA, static_cast<void*>(this));
      if (method_ == "POST") {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload_.c_str());
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(payload_.size()));
      }
      ++client_.requests_;
      return c;
    }

    // The attempt ended with `code`: true when the request is done (response() holds it; a
    // stream's events have been handed on), false to try again after wait().
    bool end(CURLcode code) {
      curl_easy_getinfo(curl_.get(), CURLINFO_RESPONSE_CODE, &response_.status);
      if (on_event_) {
        if (error_) std::rethrow_exception(error_);
        if (hung_up_) return true;
      }
      const bool received_events = on_event_ && status_ >= 200 && status_ < 300 && code != CURLE_OK;
      if (code == CURLE_OK && response_.status != 429 && response_.status < 500) {
        if (on_event_ && (response_.status < 200 || response_.status >= 300))
          client_.fail_status(method_, path_, response_);
        return true;
      }
      const bool again = !received_events && attempt_ < client_.options().retries &&
                         (code == CURLE_OK ? true : retryable(code));  // 5xx / 429 or a connection error
      if (!again) {
        if (code == CURLE_OK) {  // the caller reports the status
          if (on_event_) client_.fail_status(method_, path_, response_);
          return true;
        }
        throw ProviderError(method_ + " " + target_ + ": " + describe(code, client_.options().timeout_s) +
                            (attempt_ > 0 ? " (after " + std::to_string(attempt_ + 1) + " attempts)" : std::string()));
      }
      ++attempt_;
      return false;
    }
    // Sends the request on this thread, attempt after attempt, until it is done (or throws).
    void perform() {
      ++client_.at_once_;
      while (!end(curl_easy_perform(begin())))
        std::this_thread::sleep_for(std::chrono::duration<double>(next_wait()));
    }

    // The wait before the next attempt (doubling each time).
    double next_wait() {
      const double w = wait_;
      wait_ *= 2;
      return w;
    }

    Response& response() { return response_; }
    bool hung_up() const { return hung_up_; }
    CURL* handle() const { return curl_.get(); }
    const std::string& what() const { return target_; }

   private:
    struct CurlFree {
      void operator()(CURL* c) const { curl_easy_cleanup(c); }
      void operator()(curl_slist* l) const { curl_slist_free_all(l); }
    };

    static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
      static_cast<Transfer*>(user)->response_.body.append(data, size * n);
      return size * n;
    }

    // Splits the stream into events ("data: ..." lines ending in a blank line) and hands each on.
    static std::size_t on_stream(char* data, std::size_t size, std::size_t n, void* user) {
      auto& s = *static_cast<Transfer*>(user);
      if (s.status_ == 0) curl_easy_getinfo(s.curl_.get(), CURLINFO_RESPONSE_CODE, &s.status_);  // read by now
      if (s.status_ < 200 || s.status_ >= 300) {
        s.response_.body.append(data, size * n);
        return size * n;
      }
      s.pending_.append(data, size * n);
      std::size_t line_end;
      while ((line_end = s.pending_.find('\n')) != std::string::npos) {
        std::string line = s.pending_.substr(0, line_end);
        s.pending_.erase(0, line_end + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!line.starts_with("data:")) continue;  // blank separators, comments, event names
        std::string_view payload = std::string_view(line).substr(5);
        while (!payload.empty() && payload.front() == ' ') payload.remove_prefix(1);
        if (payload == "[DONE]") continue;
        try {
          const auto event = nlohmann::json::parse(payload, nullptr, false);
          if (event.is_discarded())
            throw ProviderError("POST " + s.target_ + ": a streamed event is not JSON: " + excerpt(std::string(payload)));
          if (!(*s.on_event_)(event)) {
            s.hung_up_ = true;
            return 0;  // curl stops the transfer and closes the connection
          }
        } catch (...) {
          s.error_ = std::current_exception();
          return 0;
        }
      }
      return size * n;
    }

    const HttpClient& client_;
    std::string method_, path_, target_, payload_;
    const EventCallback* on_event_;
    std::unique_ptr<CURL, CurlFree> curl_;
    std::unique_ptr<curl_slist, CurlFree> headers_;
    Response response_;
    std::string pending_;  // bytes of an event not yet complete
    long status_ = 0;
    bool hung_up_ = false;
    std::exception_ptr error_;
    int attempt_ = 0;
    double wait_;
  };

  // co_await client.post_async(engine, path, body): the response (any status), sent through the
  // engine by the loop running the awaiting coroutine, or at once without one (wsd::Posted).
  struct TakeResponse {
    Response operator()(Transfer& t) const {
      if (t.error) std::rethrow_exception(t.error);
      return std::move(t.response());
    }
  };
  using Posted = wsd::Posted<Transfer, TakeResponse>;
  Posted post_async(std::shared_ptr<HttpEngine> engine, std::string_view path, const nlohmann::json& body) const;
  // The stream's events go to on_event (which must outlive the await) as they arrive.
  Posted post_stream_async(std::shared_ptr<HttpEngine> engine, std::string_view path, const nlohmann::json& body,
                           const EventCallback& on_event) const;

 private:
  friend class Transfer;

  // Sends the request on this thread, attempt after attempt (a stream's errors are thrown).
  Response send(std::string_view method, std::string_view path, const nlohmann::json* body,
                const EventCallback* on_event) const {
    Transfer t(*this, std::string(method), std::string(path), body ? body->dump() : std::string(), on_event);
    t.perform();
    return std::move(t.response());
  }

  static bool retryable(CURLcode code) {
    switch (code) {
      case CURLE_COULDNT_CONNECT:
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_GOT_NOTHING:
      case CURLE_RECV_ERROR:
      case CURLE_SEND_ERROR:
      case CURLE_PARTIAL_FILE:
        return true;
      default:
        return false;
    }
  }

  static std::string describe(CURLcode code, double timeout_s) {
    switch (code) {
      case CURLE_COULDNT_CONNECT:
        return "could not connect (refused or unreachable)";
      case CURLE_COULDNT_RESOLVE_HOST:
        return "could not resolve the host";
      case CURLE_OPERATION_TIMEDOUT:
        return "timed out after " + std::to_string(static_cast<long>(timeout_s)) + " s";
      case CURLE_GOT_NOTHING:
        return "the server closed the connection without answering";
      case CURLE_RECV_ERROR:
      case CURLE_PARTIAL_FILE:
        return "the connection broke while the answer was read";
      default:
        return curl_easy_strerror(code);
    }
  }

  // The message a server put in its error body: OpenAI's {"error": {"message"}}, FastAPI's
  // {"detail"}, or the start of whatever else it sent.
  static std::string server_message(const std::string& body) {
    const auto j = nlohmann::json::parse(body, nullptr, false);
    if (!j.is_discarded() && j.is_object()) {
      if (j.contains("error") && j["error"].is_object() && j["error"].contains("message"))
        return j["error"]["message"].dump();
      if (j.contains("error") && j["error"].is_string()) return j["error"].dump();
      if (j.contains("message")) return j["message"].dump();
      if (j.contains("detail")) return j["detail"].dump();
    }
    return excerpt(body);
  }

  static std::string excerpt(const std::string& body) {
    if (body.empty()) return "(empty body)";
    std::string out = body.substr(0, 160);
    for (char& c : out)
      if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    return "\"" + out + (body.size() > 160 ? "...\"" : "\"");
  }

  std::string base_;
  HttpOptions options_;
  mutable std::atomic<std::size_t> requests_{0}, at_once_{0};
};

// Requests in flight through libcurl's multi interface, driven by the engine loop's thread: run()
// adds them, poll() moves them on and returns those that ended (retries wait their turn here, not
// on a thread); a request given up is closed at once. Without a loop a request is sent alone.
class HttpEngine : public Engine {
 public:
  HttpEngine() : multi_(curl_multi_init()) {
    if (!multi_) throw ProviderError("libcurl could not make a multi handle");
  }
  ~HttpEngine() override {
    for (auto& f : flight_)
      if (f.added) curl_multi_remove_handle(multi_, f.transfer->handle());
    curl_multi_cleanup(multi_);
  }

  bool completes_later() const override { return true; }

  void run_now(EngineCall& call) override {
    auto& t = static_cast<HttpClient::Transfer&>(call);
    try {
      t.perform();
    } catch (...) {
      t.error = std::current_exception();
    }
  }

  void poll(const CallQueue* mine, std::chrono::milliseconds wait, std::vector<EngineCall*>& finished) override {
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    for (auto& f : flight_)  // retries whose wait is over
      if (!f.added && f.retry_at <= now) add(f);
    int running = 0;
    curl_multi_perform(multi_, &running);
    if (wait.count() > 0 && !has_done(mine)) {
      curl_multi_poll(multi_, nullptr, 0, static_cast<int>(std::min<long long>(wait.count(), next_retry_ms())), nullptr);
      curl_multi_perform(multi_, &running);
    }
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      auto it = find(m->easy_handle);
      if (it == flight_.end()) continue;
      curl_multi_remove_handle(multi_, m->easy_handle);
      it->added = false;
      bool done = true;
      try {
        done = it->transfer->end(m->data.result);
      } catch (...) {
        it->transfer->error = std::current_exception();
      }
      if (!done) {
        it->retry_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(it->transfer->next_wait()));
        continue;
      }
      it->finished = true;
    }
    for (auto& f : flight_)
      if (f.finished && f.transfer->queue == mine) finished.push_back(f.transfer);
    std::erase_if(flight_, [&](const Flight& f) { return f.finished && f.transfer->queue == mine; });
  }

  void abandon(EngineCall& call) override {
    std::lock_guard lock(mutex_);
    for (auto& f : flight_)
      if (f.transfer == &call && !f.finished) {
        if (f.added) curl_multi_remove_handle(multi_, f.transfer->handle());
        f.added = false;
        f.finished = true;
        call.error = std::make_exception_ptr(CancelledError(f.transfer->what() + ": the request was given up"));
      }
  }

  void wake() override { curl_multi_wakeup(multi_); }

  std::size_t in_flight() const {
    std::lock_guard lock(mutex_);
    return flight_.size();
  }
  // The most requests that were out at once.
  std::size_t widest() const {
    std::lock_guard lock(mutex_);
    return widest_;
  }

 protected:
  void run(std::span<EngineCall* const> calls) override {
    std::lock_guard lock(mutex_);
    for (EngineCall* c : calls) {
      flight_.push_back(Flight{static_cast<HttpClient::Transfer*>(c)});
      try {
        add(flight_.back());
      } catch (...) {
        c->error = std::current_exception();
        flight_.back().finished = true;
      }
    }
    widest_ = std::max(widest_, flight_.size());
  }

 private:
  struct Flight {
    HttpClient::Transfer* transfer;
    bool added = false;
    bool finished = false;
    Clock::time_point retry_at{};
  };

  void add(Flight& f) {
    CURL* c = f.transfer->begin();
    if (curl_multi_add_handle(multi_, c) != CURLM_OK) throw ProviderError(f.transfer->what() + ": libcurl could not add the request");
    f.added = true;
  }
  std::vector<Flight>::iterator find(CURL* handle) {
    return std::find_if(flight_.begin(), flight_.end(), [&](const Flight& f) { return f.added && f.transfer->handle() == handle; });
  }
  bool has_done(const CallQueue* mine) const {
    for (const auto& f : flight_)
      if (f.finished && f.transfer->queue == mine) return true;
    return false;
  }
  long long next_retry_ms() const {
    long long ms = 1000;
    const auto now = Clock::now();
    for (const auto& f : flight_)
      if (!f.added && !f.finished)
        ms = std::min<long long>(ms, std::max<long long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(f.retry_at - now).count()));
    return ms;
  }

  CURLM* multi_;
  mutable std::mutex mutex_;
  std::vector<Flight> flight_;
  std::size_t widest_ = 0;
};

inline HttpClient::Posted HttpClient::post_async(std::shared_ptr<HttpEngine> engine, std::string_view path,
                                                 const nlohmann::json& body) const {
  return Posted(std::in_place, std::move(engine), TakeResponse{}, *this, "POST", std::string(path), body.dump(), nullptr);
}
inline HttpClient::Posted HttpClient::post_stream_async(std::shared_ptr<HttpEngine> engine, std::string_view path,
                                                        const nlohmann::json& body, const EventCallback& on_event) const {
  return Posted(std::in_place, std::move(engine), TakeResponse{}, *this, "POST", std::string(path), body.dump(),
                &on_event);
}

}  // namespace wsd
