#pragma once
// HttpClient: JSON over HTTP on libcurl, for the providers that reach a model on a server. Every
// failure is a ProviderError naming the method, the URL and what was wrong; connection errors and
// HTTP 5xx/429 are retried a bounded number of times with doubling waits, nothing else is.
#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>

#include "wsd/core/errors.hpp"

namespace wsd {

struct HttpOptions {
  double timeout_s = 600.0;  // a whole request; a stream fails after this long without a byte
  int retries = 3;           // more attempts after a connection error or HTTP 5xx/429
  double backoff_s = 0.5;    // the wait before the first retry, doubled before each next one
  std::string api_key;       // sent as a bearer token when not empty; never printed
};

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
  std::string url(std::string_view path) const { return base_ + std::string(path); }
  // HTTP requests sent so far (retries included), from every thread.
  std::size_t requests() const { return requests_.load(); }

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
    StreamState state{on_event, this, std::string(path)};
    const Response r = send("POST", path, &body, &state);
    if (state.error) std::rethrow_exception(state.error);
    if (state.hung_up) return;
    if (r.status < 200 || r.status >= 300) fail_status("POST", path, r);
  }

  // The error for a non-2xx response: its status and the server's own message.
  [[noreturn]] void fail_status(std::string_view method, std::string_view path, const Response& r) const {
    throw ProviderError(std::string(method) + " " + url(path) + ": HTTP " + std::to_string(r.status) + ": " +
                        server_message(r.body));
  }

 private:
  struct StreamState {
    const EventCallback& on_event;
    const HttpClient* client;
    std::string path;
    std::string pending{};  // bytes of an event not yet complete
    bool hung_up = false;
    std::exception_ptr error{};
    long status = 0;
    std::string error_body{};  // a non-2xx answer's body, not events
    CURL* handle = nullptr;    // the transfer, for its status
  };

  struct CurlFree {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
  };

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

  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
    static_cast<std::string*>(user)->append(data, size * n);
    return size * n;
  }

  // Splits the stream into events ("data: ..." lines ending in a blank line) and hands each on.
  static std::size_t on_stream(char* data, std::size_t size, std::size_t n, void* user) {
    auto& s = *static_cast<StreamState*>(user);
    if (s.status == 0) {
      // The status line has been read by the time the body starts.
      curl_easy_getinfo(s.handle, CURLINFO_RESPONSE_CODE, &s.status);
    }
    if (s.status < 200 || s.status >= 300) {
      s.error_body.append(data, size * n);
      return size * n;
    }
    s.pending.append(data, size * n);
    std::size_t line_end;
    while ((line_end = s.pending.find('\n')) != std::string::npos) {
      std::string line = s.pending.substr(0, line_end);
      s.pending.erase(0, line_end + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.starts_with("data:")) continue;  // blank separators, comments, event names
      std::string_view payload = std::string_view(line).substr(5);
      while (!payload.empty() && payload.front() == ' ') payload.remove_prefix(1);
      if (payload == "[DONE]") continue;
      try {
        const auto event = nlohmann::json::parse(payload, nullptr, false);
        if (event.is_discarded())
          throw ProviderError("POST " + s.client->url(s.path) +
                              ": a streamed event is not JSON: " + excerpt(std::string(payload)));
        if (!s.on_event(event)) {
          s.hung_up = true;
          return 0;  // curl stops the transfer and closes the connection
        }
      } catch (...) {
        s.error = std::current_exception();
        return 0;
      }
    }
    return size * n;
  }

  Response send(std::string_view method, std::string_view path, const nlohmann::json* body, StreamState* stream) const {
    const std::string target = url(path);
    const std::string payload = body ? body->dump() : std::string();
    double wait = options_.backoff_s;
    for (int attempt = 0;; ++attempt) {
      Response r;
      std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
      if (!curl) throw ProviderError(std::string(method) + " " + target + ": libcurl could not make a handle");
      curl_slist* raw_headers = curl_slist_append(nullptr, "Content-Type: application/json");
      raw_headers = curl_slist_append(raw_headers, "Accept: application/json, text/event-stream");
      raw_headers = curl_slist_append(raw_headers, "Expect:");  // no 100-continue round trip for large bodies
      if (!options_.api_key.empty())
        raw_headers = curl_slist_append(raw_headers, ("Authorization: Bearer " + options_.api_key).c_str());
      std::unique_ptr<curl_slist, CurlFree> headers(raw_headers);
      CURL* c = curl.get();
      curl_easy_setopt(c, CURLOPT_URL, target.c_str());
      curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
      curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(options_.timeout_s, 30.0) * 1000));
      if (stream) {  // a long answer may take long: fail only when the stream stalls
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, std::max(1L, static_cast<long>(options_.timeout_s)));
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &HttpClient::on_stream);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, stream);
        stream->pending.clear();
        stream->status = 0;
        stream->error_body.clear();
        stream->handle = c;
      } else {
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_s * 1000));
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &HttpClient::on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
      }
      if (method == "POST") {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload.c_str());
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
      }
      ++requests_;
      const CURLcode code = curl_easy_perform(c);
      curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
      if (stream) {
        if (stream->hung_up || stream->error) return r;
        r.body = stream->error_body;
      }
      const bool received_events = stream && stream->status >= 200 && stream->status < 300 && code != CURLE_OK;
      if (code == CURLE_OK && r.status != 429 && r.status < 500) return r;
      const bool again = !received_events && attempt < options_.retries &&
                         (code == CURLE_OK ? true : retryable(code));  // 5xx / 429 or a connection error
      if (!again) {
        if (code == CURLE_OK) return r;  // the caller reports the status
        throw ProviderError(std::string(method) + " " + target + ": " + describe(code, options_.timeout_s) +
                            (attempt > 0 ? " (after " + std::to_string(attempt + 1) + " attempts)" : std::string()));
      }
      std::this_thread::sleep_for(std::chrono::duration<double>(wait));
      wait *= 2;
    }
  }

  std::string base_;
  HttpOptions options_;
  mutable std::atomic<std::size_t> requests_{0};
};

}  // namespace wsd
