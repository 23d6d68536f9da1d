// wsd-server: a WSD pair (drafter + base model + switch rule) as one model behind OpenAI's chat
// completions API, so that any OpenAI client is a WSD client. The pair is both models in this
// process, or the drafter here and the base model on an OpenAI-compatible server (--strong-url).
// One wsd::DecodeLoop on its own thread runs every conversation in flight (wsd::serve::PairLoop);
// HTTP handlers (cpp-httplib's threads) submit, stream from and cancel them.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <wsd/providers/http/llama_http_pair.hpp>
#include <wsd/providers/llama/llama_parallel.hpp>
#include <wsd/serve/chat_api.hpp>
#include <wsd/serve/chat_page.hpp>
#include <wsd/serve/pair_service.hpp>
#include <wsd/wsd.hpp>

#include "tools/config_flags.hpp"
#include "tools/exit_codes.hpp"
#include "tools/pair_flags.hpp"
#include "tools/placement_flags.hpp"
#include "tools/server_flags.hpp"
#include "tools/version.hpp"

// Last: httplib brings <resolv.h>, whose _res macro breaks headers included after it (Eigen's among them).
#include <httplib.h>

namespace {

using nlohmann::json;

// One request's answers: its Stream sinks and the loop's ends push here (loop thread), the HTTP
// handler reads (its thread).
struct Exchange {
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::string> events;  // server-sent events not yet written
  std::vector<std::optional<wsd::Outcome>> outcomes;
  std::vector<bool> switched;
  std::size_t ended = 0;
  void push(std::string e) {
    std::lock_guard lock(mutex);
    events.push_back(std::move(e));
    changed.notify_all();
  }
};

// Counters for /metrics.
struct Metrics {
  std::mutex mutex;
  std::map<int, std::size_t> requests;  // by status
  std::size_t drafted = 0, judged = 0, written = 0, cancelled = 0;
  double weak_s = 0, strong_s = 0;
  std::vector<std::size_t> switch_buckets = std::vector<std::size_t>(8, 0);  // <=0,1,2,4,8,16,32,+inf
  std::string weak_device, strong_device;  // where each model runs, once loaded
  void status(int s) {
    std::lock_guard lock(mutex);
    ++requests[s];
  }
  void answer(const wsd::Result& r) {
    std::lock_guard lock(mutex);
    drafted += r.weak_tokens;
    judged += r.probs.size();
    written += r.strong_generated;
    weak_s += r.timing.weak_s;
    strong_s += r.timing.strong_s;
    if (r.cancelled()) ++cancelled;
    const long k = r.accept_index + 1;
    const long bounds[] = {0, 1, 2, 4, 8, 16, 32};
    std::size_t b = 7;
    for (std::size_t i = 0; i < 7; ++i)
      if (k <= bounds[i]) {
        b = i;
        break;
      }
    ++switch_buckets[b];
  }
  void devices(std::string weak, std::string strong) {
    std::lock_guard lock(mutex);
    weak_device = std::move(weak);
    strong_device = std::move(strong);
  }
  json devices_json() {
    std::lock_guard lock(mutex);
    return {{"weak", weak_device}, {"strong", strong_device}};
  }
  std::string text(std::size_t queue) {
    std::lock_guard lock(mutex);
    auto label = [](const std::string& v) {  // a Prometheus label value: \\, \" and \n escaped
      std::string out;
      for (char c : v) out += c == '"' ? std::string("\\\"") : c == '\\' ? std::string("\\\\") : c == '\n' ? std::string("\\n") : std::string(1, c);
      return out;
    };
    std::string out = "# TYPE wsd_model_device gauge\n";
    for (const auto& [model, device] : {std::pair{"weak", &weak_device}, std::pair{"strong", &strong_device}})
      if (!device->empty()) out += "wsd_model_device{model=\"" + std::string(model) + "\",device=\"" + label(*device) + "\"} 1\n";
    out += "# TYPE wsd_requests_total counter\n";
    for (const auto& [s, n] : requests) out += "wsd_requests_total{status=\"" + std::to_string(s) + "\"} " + std::to_string(n) + "\n";
    out += "# TYPE wsd_tokens_drafted_total counter\nwsd_tokens_drafted_total " + std::to_string(drafted) + "\n";
    out += "# TYPE wsd_tokens_judged_total counter\nwsd_tokens_judged_total " + std::to_string(judged) + "\n";
    out += "# TYPE wsd_tokens_written_total counter\nwsd_tokens_written_total " + std::to_string(written) + "\n";
    out += "# TYPE wsd_answers_cancelled_total counter\nwsd_answers_cancelled_total " + std::to_string(cancelled) + "\n";
    out += "# TYPE wsd_model_seconds_total counter\nwsd_model_seconds_total{model=\"weak\"} " + std::to_string(weak_s) +
           "\nwsd_model_seconds_total{model=\"strong\"} " + std::to_string(strong_s) + "\n";
    out += "# TYPE wsd_queue_length gauge\nwsd_queue_length " + std::to_string(queue) + "\n";
    out += "# TYPE wsd_switch_index histogram\n";
    const char* les[] = {"0", "1", "2", "4", "8", "16", "32", "+Inf"};
    std::size_t cumulative = 0;
    for (std::size_t i = 0; i < 8; ++i) {
      cumulative += switch_buckets[i];
      out += "wsd_switch_index_bucket{le=\"" + std::string(les[i]) + "\"} " + std::to_string(cumulative) + "\n";
    }
    out += "wsd_switch_index_count " + std::to_string(cumulative) + "\n";
    return out;
  }
};

std::string sse(const json& j) { return "data: " + wsd::serve::json_text(j) + "\n\n"; }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"wsd-server: a WSD pair behind OpenAI's chat completions API (/v1/chat/completions)"};
  wsd::tools::PairFlags pair_flags(app);
  wsd::Config defaults;
  defaults.max_tokens = 256;
  defaults.draft_max_tokens = 128;
  wsd::tools::ConfigFlags config_flags(app, defaults);
  std::string host = "127.0.0.1", api_key_env, model_name = "wsd";
  int port = 8090, context = 2048;
  std::size_t parallel = wsd::default_parallel(), queue = 64;
  double grace_s = 10;
  app.add_option("--host", host, "address to listen on")->capture_default_str();
  app.add_option("--port", port, "port to listen on (0: any free port, printed)")->check(CLI::Range(0, 65535))->capture_default_str();
  app.add_option("--api-key-env", api_key_env, "require this environment variable's value as the bearer token");
  app.add_option("--parallel", parallel, "conversations in flight")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--queue", queue, "waiting conversations before requests are refused with 429")->capture_default_str();
  app.add_option("--model-name", model_name, "the model's name in the API")->capture_default_str();
  app.add_option("--context", context, "tokens of context per conversation and model")->check(CLI::Range(64, 131072))->capture_default_str();
  std::size_t max_body = 0;
  app.add_option("--max-body-bytes", max_body, "requests with a larger body are refused with 413 (default: 128 bytes per token of --context)");
  wsd::tools::PlacementFlags placement(app);
  wsd::tools::add_version_flag(app, "wsd-server");
  app.add_option("--grace", grace_s, "seconds answers in flight may take to finish after SIGTERM")->capture_default_str();
  wsd::tools::ServerFlags strong_server(app, "--strong-api-key-env");  // --strong-url, --strong-model, --timeout
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : wsd::tools::kExitUsage;
  }

  try {
    pair_flags.resolve();
    wsd::Config base = config_flags.resolve();  // shared_vocabulary is set once the models are known
    std::string api_key;
    if (!api_key_env.empty()) {
      const char* k = std::getenv(api_key_env.c_str());
      if (!k || !*k) throw wsd::ConfigError("--api-key-env: the environment variable " + api_key_env + " is not set");
      api_key = k;
    }
    // SIGTERM and SIGINT are taken by this thread (sigwait), never by the workers.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    std::atomic<bool> ready{false}, closing{false};
    std::atomic<std::size_t> outstanding{0};  // conversations submitted and not yet ended
    std::atomic<std::uint64_t> next_id{0};
    Metrics metrics;
    std::unique_ptr<wsd::serve::PairService> pair;  // set, then `ready`: the handlers read it after

    if (max_body == 0) max_body = 128 * static_cast<std::size_t>(context);
    httplib::Server svr;
    svr.set_payload_max_length(max_body);
    // A client that asks first (curl does above 1 MiB) is refused before it sends the body.
    svr.set_expect_100_continue_handler([&](const httplib::Request& req, httplib::Response& res) {
      if (req.get_header_value<std::uint64_t>("Content-Length") > max_body) return res.status = 413;
      return 100;
    });
    svr.new_task_queue = [] { return new httplib::ThreadPool(72); };
    auto error = [&](httplib::Response& res, const wsd::serve::ApiError& e) {
      res.status = e.status;
      res.set_content(wsd::serve::json_text(e.body()), "application/json");
      metrics.status(e.status);
    };
    auto authorized = [&](const httplib::Request& req, httplib::Response& res) {
      if (api_key.empty()) return true;
      if (req.get_header_value("Authorization") == "Bearer " + api_key) return true;
      error(res, wsd::serve::ApiError(401, "Incorrect or missing API key (send it as 'Authorization: Bearer KEY')", "",
                                      "invalid_request_error", "invalid_api_key"));
      return false;
    };

    svr.Get("/health", [&](const httplib::Request&, httplib::Response& res) {
      const bool ok = ready && !closing;
      res.status = ok ? 200 : 503;
      res.set_content(json{{"status", closing ? "shutting down" : ok ? "ok" : "loading"}, {"devices", metrics.devices_json()}}.dump(),
                      "application/json");
    });
    svr.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics.text(outstanding), "text/plain; version=0.0.4");
    });
    svr.Get("/", [&](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(wsd::serve::chat_page()), "text/html; charset=utf-8");
    });
    const json model_object = {{"id", model_name}, {"object", "model"}, {"created", 0}, {"owned_by", "wsd"}};
    svr.Get("/v1/models", [&](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req, res)) return;
      res.set_content(wsd::serve::json_text({{"object", "list"}, {"data", json::array({model_object})}}), "application/json");
    });
    svr.Get(R"(/v1/models/(.+))", [&](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req, res)) return;
      if (req.matches[1] != model_name)
        return error(res, wsd::serve::ApiError(404, "the model '" + std::string(req.matches[1]) + "' does not exist; this server serves '" +
                                                        model_name + "'",
                                               "model", "invalid_request_error", "model_not_found"));
      res.set_content(wsd::serve::json_text(model_object), "application/json");
    });
    // Every other error is OpenAI's JSON object too: an unknown route (404), a known one asked with
    // another method (405), a body over --max-body-bytes (413), headers httplib could not read (400).
    const std::vector<std::string> routes = {"/", "/health", "/metrics", "/v1/models", "/v1/chat/completions"};
    svr.set_error_handler([&](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;  // a handler's own error
      using wsd::serve::ApiError;
      const bool known = std::find(routes.begin(), routes.end(), req.path) != routes.end();
      if (res.status == 404 && known) {
        res.status = 405;
        res.set_header("Allow", req.path == "/v1/chat/completions" ? "POST" : "GET");
        return error(res, ApiError(405, req.method + " is not allowed on " + req.path, "", "invalid_request_error", "method_not_allowed"));
      }
      if (res.status == 404)
        return error(res, ApiError(404, "unknown route: " + req.method + " " + req.path +
                                            " (wsd-server serves POST /v1/chat/completions, GET /v1/models)",
                                   "", "invalid_request_error", "unknown_url"));
      if (res.status == 413)
        return error(res, ApiError(413, "the request body is over the limit of " + std::to_string(max_body) +
                                            " bytes (--max-body-bytes)", "", "invalid_request_error", "request_too_large"));
      error(res, ApiError(res.status, "bad request: the request line or headers could not be read (headers are limited to 8 KiB)"));
    });
    // An exception no handler caught: a 500 with OpenAI's object, never the exception's text in a header.
    svr.set_exception_handler([&](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      res.status = 500;
      error(res, wsd::serve::ApiError(500, "internal error", "", "server_error"));
    });

    svr.Post("/v1/chat/completions", [&](const httplib::Request& req, httplib::Response& res) {
      using wsd::serve::ApiError;
      if (!authorized(req, res)) return;
      if (closing) return error(res, ApiError(503, "the server is shutting down", "", "server_error"));
      if (!ready) return error(res, ApiError(503, "the models are still loading", "", "server_error"));
      wsd::serve::ChatRequest request;
      try {
        const json body = json::parse(req.body);
        request = wsd::serve::parse_chat_request(body, base, model_name, static_cast<std::size_t>(context));
      } catch (const json::exception& e) {  // a parse error, or a number out of range (1e999)
        return error(res, ApiError(400, std::string("the body is not valid JSON: ") + e.what()));
      } catch (const ApiError& e) {
        return error(res, e);
      }
      // The conversation must fit: the prompt of each model and the answer's budget. The base
      // model's prompt length is also the answer's usage.prompt_tokens.
      std::size_t strong_prompt = 0;
      try {
        strong_prompt = pair->strong_prompt_tokens(request.conversation);
        const std::size_t weak_prompt = pair->weak_prompt_tokens(request.conversation);
        const std::size_t need = std::max(strong_prompt, weak_prompt) + request.config.max_tokens;
        if (need > static_cast<std::size_t>(context))
          return error(res, ApiError(400,
                                     "this conversation needs " + std::to_string(need) + " tokens (prompt " +
                                         std::to_string(std::max(strong_prompt, weak_prompt)) + " + max_tokens " +
                                         std::to_string(request.config.max_tokens) + "), more than the context of " +
                                         std::to_string(context),
                                     "messages", "invalid_request_error", "context_length_exceeded"));
        request.conversation.id = "chatcmpl-" + std::to_string(next_id++);
        wsd::validate_conversation(request.conversation);
      } catch (const wsd::Error& e) {
        return error(res, ApiError(400, e.what(), "messages"));
      }
      const std::size_t limit = parallel + queue;
      if (outstanding.fetch_add(request.n) + request.n > limit) {
        outstanding -= request.n;
        res.set_header("Retry-After", "1");
        return error(res, ApiError(429, "too many requests: " + std::to_string(limit) +
                                            " conversations are in flight or waiting; retry later",
                                   "", "rate_limit_error"));
      }
      const std::string id = request.conversation.id;
      const auto created = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
      auto ex = std::make_shared<Exchange>();
      ex->outcomes.resize(request.n);
      ex->switched.resize(request.n, false);
      auto chunk = [id, created, model_name](std::size_t i, json delta, const json& finish) {
        return json{{"id", id},
                    {"object", "chat.completion.chunk"},
                    {"created", created},
                    {"model", model_name},
                    {"choices", json::array({{{"index", i}, {"delta", std::move(delta)}, {"finish_reason", finish}}})}};
      };
      std::vector<std::size_t> ids;
      for (std::size_t i = 0; i < request.n; ++i) {
        const wsd::Config cfg = wsd::sample_config(request.config, i);
        wsd::Stream stream;
        if (request.stream) {
          stream.draft = [ex, chunk, i](std::string_view t) { ex->push(sse(chunk(i, {{"content", t}}, nullptr))); };
          stream.continuation = [ex, chunk, i](std::string_view t) {
            json c = chunk(i, {{"content", t}}, nullptr);
            if (!ex->switched[i]) {  // the first text the base model wrote: it took over here
              ex->switched[i] = true;
              json marker = chunk(i, json::object(), nullptr);
              marker["wsd"] = {{"event", "switch"}};
              ex->push(sse(marker));
            }
            ex->push(sse(c));
          };
        }
        ids.push_back(pair->submit(
            cfg, request.conversation, stream, [ex, i, &metrics, &outstanding](wsd::Outcome o) {
              if (o.result) metrics.answer(*o.result);
              std::lock_guard lock(ex->mutex);
              ex->outcomes[i] = std::move(o);
              ++ex->ended;
              --outstanding;
              ex->changed.notify_all();
            }));
      }

      if (!request.stream) {
        std::unique_lock lock(ex->mutex);
        ex->changed.wait(lock, [&] { return ex->ended == request.n; });
        json choices = json::array();
        std::size_t completion = 0;
        json traces = json::array();
        for (std::size_t i = 0; i < request.n; ++i) {
          const wsd::Outcome& o = *ex->outcomes[i];
          if (!o.result) {
            try {
              std::rethrow_exception(o.error);
            } catch (const std::exception& e) {
              lock.unlock();
              return error(res, ApiError(500, e.what(), "", "server_error"));
            }
          }
          const wsd::Result& r = *o.result;
          completion += wsd::answer_tokens(r);
          choices.push_back({{"index", i},
                             {"message", {{"role", "assistant"}, {"content", wsd::serve::answer_text(r)}}},
                             {"logprobs", nullptr},
                             {"finish_reason", wsd::serve::finish_reason(r)}});
          traces.push_back(wsd::serve::trace_json(r));
        }
        const std::size_t prompt = strong_prompt;
        json out = {{"id", id},
                    {"object", "chat.completion"},
                    {"created", created},
                    {"model", model_name},
                    {"choices", choices},
                    {"usage", {{"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion}}},
                    {"wsd", request.n == 1 ? traces[0] : json{{"choices", traces}}}};
        res.set_content(wsd::serve::json_text(out), "application/json");
        metrics.status(200);
        return;
      }

      // Streaming: the events as they come; a client that goes away cancels its conversations.
      metrics.status(200);
      auto n = request.n;
      auto include_usage = request.include_usage;
      auto prompt_tokens = strong_prompt;
      for (std::size_t i = 0; i < n; ++i) ex->push(sse(chunk(i, {{"role", "assistant"}, {"content", ""}}, nullptr)));
      res.set_header("Cache-Control", "no-cache");
      res.set_chunked_content_provider(
          "text/event-stream",
          [ex, n, include_usage, prompt_tokens, chunk, ids, &pair, id, created, model_name](
              std::size_t, httplib::DataSink& sink) {
            std::unique_lock lock(ex->mutex);
            ex->changed.wait_for(lock, std::chrono::milliseconds(200), [&] { return !ex->events.empty() || ex->ended == n; });
            auto gone = [&] {
              lock.unlock();
              for (auto cid : ids) pair->cancel(cid);
              return false;
            };
            while (!ex->events.empty()) {
              const std::string e = std::move(ex->events.front());
              ex->events.pop_front();
              if (!sink.write(e.data(), e.size())) return gone();
            }
            if (!sink.is_writable()) return gone();
            if (ex->ended < n) return true;
            std::size_t completion = 0;
            for (std::size_t i = 0; i < n; ++i) {
              const wsd::Outcome& o = *ex->outcomes[i];
              json last;
              if (o.result) {
                completion += wsd::answer_tokens(*o.result);
                last = chunk(i, json::object(), wsd::serve::finish_reason(*o.result));
                last["wsd"] = wsd::serve::trace_json(*o.result);
              } else {
                std::string message = "error";
                try {
                  std::rethrow_exception(o.error);
                } catch (const std::exception& x) {
                  message = x.what();
                }
                last = wsd::serve::ApiError(500, message, "", "server_error").body();
              }
              const std::string e = sse(last);
              if (!sink.write(e.data(), e.size())) return gone();
            }
            if (include_usage) {
              const std::string u = sse({{"id", id},
                                         {"object", "chat.completion.chunk"},
                                         {"created", created},
                                         {"model", model_name},
                                         {"choices", json::array()},
                                         {"usage",
                                          {{"prompt_tokens", prompt_tokens},
                                           {"completion_tokens", completion},
                                           {"total_tokens", prompt_tokens + completion}}}});
              sink.write(u.data(), u.size());
            }
            const std::string done = "data: [DONE]\n\n";
            sink.write(done.data(), done.size());
            sink.done();
            return true;
          },
          [ex, ids, &pair, n](bool success) {  // the connection ended: a client gone cancels
            if (success) return;
            std::lock_guard lock(ex->mutex);
            if (ex->ended < n)
              for (auto cid : ids) pair->cancel(cid);
          });
    });

    if (port == 0) port = svr.bind_to_any_port(host);
    else if (!svr.bind_to_port(host, port))
      throw wsd::ConfigError("--host " + host + " --port " + std::to_string(port) + ": cannot listen there (in use?)");
    std::thread http([&] { svr.listen_after_bind(); });
    std::fprintf(stderr, "wsd-server: listening on http://%s:%d (loading the models)\n", host.c_str(), port);

    wsd::LlamaOptions opts;
    opts.context = context;
    std::string strong_name;
    try {
      auto weak_model = std::make_shared<const wsd::LlamaModel>(pair_flags.weak(), placement.weak(opts));
      if (strong_server.remote()) {  // the base model on a server: it samples, this side drafts
        auto server = strong_server.connect();
        strong_name = server->model() + " at " + server->url();
        metrics.devices(weak_model->placement().label(), "the server at " + server->url());
        base.shared_vocabulary = false;
        pair = std::make_unique<wsd::serve::PairLoop<wsd::LlamaHttpPair>>(
            std::make_unique<wsd::LlamaHttpPair>(weak_model, std::move(server), parallel, base.continuation));
      } else {
        auto strong_model = std::make_shared<const wsd::LlamaModel>(pair_flags.strong(), placement.strong(opts));
        strong_name = std::filesystem::path(pair_flags.strong()).stem().string();
        metrics.devices(weak_model->placement().label(), strong_model->placement().label());
        base.shared_vocabulary = wsd::same_vocabulary(*weak_model, *strong_model);
        pair = std::make_unique<wsd::serve::PairLoop<wsd::LlamaPairSequences>>(
            std::make_unique<wsd::LlamaPairSequences>(weak_model, strong_model, parallel));
      }
    } catch (...) {
      svr.stop();
      http.join();
      throw;
    }
    ready = true;
    const json devices = metrics.devices_json();
    std::fprintf(stderr, "wsd-server: ready: model '%s' = %s (%s) -> %s (%s), %zu in flight\n", model_name.c_str(),
                 std::filesystem::path(pair_flags.weak()).stem().c_str(), devices["weak"].get<std::string>().c_str(),
                 strong_name.c_str(), devices["strong"].get<std::string>().c_str(), parallel);

    int sig = 0;
    sigwait(&signals, &sig);
    closing = true;  // new requests: 503
    std::fprintf(stderr, "wsd-server: %s: letting %zu answers finish (up to %.0f s)\n", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                 outstanding.load(), grace_s);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(grace_s);
    while (outstanding > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    pair->cancel_all();  // what is left ends cancelled; each handler writes its ends
    for (int i = 0; i < 500 && outstanding > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    svr.stop();  // joins the handlers
    http.join();
    pair.reset();
    std::fprintf(stderr, "wsd-server: stopped\n");
    return 0;
  } catch (...) {
    return wsd::tools::report_error("wsd-server");
  }
}
