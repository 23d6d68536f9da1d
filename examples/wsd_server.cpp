// wsd-server: a WSD pair (drafter + base model + switch rule) as one model behind OpenAI's chat
// completions API, so that any OpenAI client is a WSD client. The pair is both models in this
// process, or the drafter here and the base model on an OpenAI-compatible server (--strong-url).
// One wsd::DecodeLoop on its own thread runs every conversation in flight (wsd::serve::PairLoop);
// HTTP handlers (cpp-httplib's threads) submit, stream from and cancel them.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>
#include <wsd/serve/admission.hpp>
#include <wsd/serve/chat_api.hpp>
#include <wsd/serve/chat_exchange.hpp>
#include <wsd/serve/chat_page.hpp>
#include <wsd/serve/metrics.hpp>
#include <wsd/serve/pair_service.hpp>
#include <wsd/wsd.hpp>

#include "tools/config_flags.hpp"
#include "tools/exit_codes.hpp"
#include "tools/open_pair.hpp"
#include "tools/parallel.hpp"
#include "tools/read_deadline.hpp"
#include "tools/version.hpp"

// Last: httplib brings <resolv.h>, whose _res macro breaks headers included after it (Eigen's among them).
#include <httplib.h>

using nlohmann::json;

int main(int argc, char** argv) {
  CLI::App app{"wsd-server: a WSD pair behind OpenAI's chat completions API (/v1/chat/completions)"};
  wsd::tools::PairFlags pair_flags(app);
  wsd::Config defaults;
  defaults.max_tokens = 256;
  defaults.draft_max_tokens = 128;
  wsd::tools::ConfigFlags config_flags(app, defaults);
  std::string host = "127.0.0.1", api_key_env, model_name = "wsd";
  int port = 8090, context = 2048;
  std::size_t parallel = wsd::tools::default_parallel(), queue = 64;
  double grace_s = 10, read_timeout_s = 30;
  app.add_option("--host", host, "address to listen on")->capture_default_str();
  app.add_option("--port", port, "port to listen on (0: any free port, printed)")->check(CLI::Range(0, 65535))->capture_default_str();
  app.add_option("--api-key-env", api_key_env, "require this environment variable's value as the bearer token");
  app.add_option("--parallel", parallel, "conversations in flight")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--queue", queue, "waiting conversations before requests are refused with 429")->capture_default_str();
  app.add_option("--model-name", model_name, "the model's name in the API")->capture_default_str();
  app.add_option("--context", context, "tokens of context per conversation and model")->check(CLI::Range(64, 131072))->capture_default_str();
  std::size_t max_body = 0;
  app.add_option("--max-body-bytes", max_body, "requests with a larger body are refused with 413 (default: 128 bytes per token of --context)");
  app.add_option("--read-timeout", read_timeout_s,
                 "seconds a client may take to send a request (line, headers, body) from its connection or its previous "
                 "answer; a slower one gets 408 (above the 5 s an idle connection is kept)")
      ->check(CLI::Range(6.0, 3600.0))
      ->capture_default_str();
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

    std::atomic<bool> ready{false};
    std::atomic<std::uint64_t> next_id{0};
    wsd::serve::Metrics metrics;
    wsd::serve::Admission admission(parallel, queue);
    std::unique_ptr<wsd::serve::PairService> pair;  // set, then `ready`: the handlers read it after

    if (max_body == 0) max_body = 128 * static_cast<std::size_t>(context);
    httplib::Server svr;
    svr.set_payload_max_length(max_body);
    // A body over --max-body-bytes, told by its Content-Length (httplib itself answers 400 to one that
    // is not a number): refused before it is read, the error the same wherever it is found.
    const auto over_limit = [&](const httplib::Request& req) { return req.get_header_value_u64("Content-Length") > max_body; };
    const auto too_large = [&] {
      return wsd::serve::ApiError(413, "the request body is over the limit of " + std::to_string(max_body) + " bytes (--max-body-bytes)",
                                  "", "invalid_request_error", "request_too_large");
    };
    // A client that asks first (curl does above 1 MiB) is refused before it sends the body.
    svr.set_expect_100_continue_handler([&](const httplib::Request& req, httplib::Response& res) {
      return over_limit(req) ? res.status = 413 : 100;
    });
    // A connection holds a thread while it is open (cpp-httplib reads it in one): 72 threads, and as
    // many more as open connections need, up to 1024, so that idle or slow clients do not starve
    // the others (a thread beyond 72 ends 3 s after its connection did).
    svr.new_task_queue = [] { return new httplib::ThreadPool(72, 1024); };
    svr.set_keep_alive_timeout(5);                   // an idle connection is closed after 5 s
    // A read may wait past --read-timeout, so that the read deadline (below) ends a slow request with
    // its 408 (a body sent in part and then not at all included), not httplib's 5 s read with a 400.
    svr.set_read_timeout(static_cast<time_t>(read_timeout_s) + 2, 0);
    std::optional<wsd::tools::ReadDeadline> deadline;  // once the port is known: before any request
    svr.set_logger([&](const httplib::Request& req, const httplib::Response& res) {  // before the body is written
      if (res.get_header_value("Content-Type") != "text/event-stream") deadline->answered(req.remote_addr, req.remote_port);
    });
    auto error = [&](httplib::Response& res, const wsd::serve::ApiError& e) {
      res.status = e.status;
      res.set_content(wsd::serve::json_text(e.body()), "application/json");
      metrics.status(e.status);
    };
    // A client that does not ask gets its 413 as soon as the headers are read (not after a read of a
    // body that may never come), the connection then closed (httplib drains what is still sent first).
    svr.set_pre_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
      if (!over_limit(req)) return httplib::Server::HandlerResponse::Unhandled;
      deadline->handling(req.remote_addr, req.remote_port);
      error(res, too_large());
      res.set_header("Connection", "close");
      return httplib::Server::HandlerResponse::Handled;
    });
    auto authorized = [&](const httplib::Request& req, httplib::Response& res) {
      if (api_key.empty()) return true;
      if (req.get_header_value("Authorization") == "Bearer " + api_key) return true;
      error(res, wsd::serve::ApiError(401, "Incorrect or missing API key (send it as 'Authorization: Bearer KEY')", "",
                                      "invalid_request_error", "invalid_api_key"));
      return false;
    };

    // The routes' handlers, registered from one table (below) that the 405s are derived from too.
    using Handler = httplib::Server::Handler;
    const Handler health = [&](const httplib::Request&, httplib::Response& res) {
      const bool closing = admission.closing(), ok = ready && !closing;
      res.status = ok ? 200 : 503;
      res.set_content(json{{"status", closing ? "shutting down" : ok ? "ok" : "loading"},
                           {"devices", metrics.devices_json()},
                           {"engines", metrics.engines_json()}}
                          .dump(),
                      "application/json");
    };
    const Handler prometheus = [&](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics.text(admission.outstanding()), "text/plain; version=0.0.4");
    };
    const Handler page = [&](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(wsd::serve::chat_page()), "text/html; charset=utf-8");
    };
    const json model_object = {{"id", model_name}, {"object", "model"}, {"created", 0}, {"owned_by", "wsd"}};
    const Handler models = [&](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req, res)) return;
      res.set_content(wsd::serve::json_text({{"object", "list"}, {"data", json::array({model_object})}}), "application/json");
    };
    const Handler model = [&](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req, res)) return;
      if (req.matches[1] != model_name)
        return error(res, wsd::serve::model_not_found(req.matches[1], model_name));
      res.set_content(wsd::serve::json_text(model_object), "application/json");
    };
    struct Route {
      std::string method, pattern;  // pattern: a regular expression over the path, as httplib matches it
      const Handler* handler;
      std::regex path = std::regex(pattern);  // the same, compiled once for the 405s
    };
    std::vector<Route> routes;  // filled below, once every handler is defined
    // Every other error is OpenAI's JSON object too: an unknown route (404), a known one asked with
    // another method (405), a body over --max-body-bytes (413), headers httplib could not read (400).
    svr.set_error_handler([&](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;  // a handler's own error
      if (deadline->expired(req.remote_addr, req.remote_port)) return;  // answered 408 (counted) and shut
      using wsd::serve::ApiError;
      std::string allowed;  // the methods of the routes whose pattern the path matches
      for (const Route& r : routes)
        if (std::regex_match(req.path, r.path)) allowed += (allowed.empty() ? "" : ", ") + r.method;
      if (res.status == 404 && !allowed.empty()) {
        res.status = 405;
        res.set_header("Allow", allowed);
        return error(res, ApiError(405, req.method + " is not allowed on " + req.path, "", "invalid_request_error", "method_not_allowed"));
      }
      if (res.status == 404)
        return error(res, ApiError(404, "unknown route: " + req.method + " " + req.path +
                                            " (wsd-server serves POST /v1/chat/completions, GET /v1/models)",
                                   "", "invalid_request_error", "unknown_url"));
      if (res.status == 413) return error(res, too_large());
      error(res, ApiError(res.status, "bad request: the request line or headers could not be read (headers are limited to 8 KiB)"));
    });
    // An exception no handler caught: a 500 with OpenAI's object, never the exception's text in a header.
    svr.set_exception_handler([&](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      res.status = 500;
      error(res, wsd::serve::ApiError(500, "internal error", "", "server_error"));
    });

    // A chat request's end: counted in /metrics and logged with the status its client got.
    const auto answered = [&](const wsd::serve::ChatExchange& ex, int status) {
      metrics.status(status);
      ex.finished(status);
    };
    const Handler chat = [&](const httplib::Request& req, httplib::Response& res) {
      using wsd::serve::ApiError;
      deadline->handling(req.remote_addr, req.remote_port);  // read: no deadline while it is answered
      if (!authorized(req, res)) return;
      if (admission.closing()) return error(res, admission.refusal());
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
      if (!admission.admit(request.n)) {
        if (!admission.closing()) res.set_header("Retry-After", "1");
        return error(res, admission.refusal());
      }
      auto ex = std::make_shared<wsd::serve::ChatExchange>(
          wsd::serve::Completion::now(request.conversation.id, model_name), request.n, request.stream,
          request.include_usage, strong_prompt,
          [](const std::string& line) { std::fprintf(stderr, "wsd-server: %s\n", line.c_str()); });
      std::vector<std::size_t> ids;
      for (std::size_t i = 0; i < request.n; ++i)
        ids.push_back(pair->submit(wsd::sample_config(request.config, i), request.conversation, ex->stream(i),
                                   [ex, i, &metrics, &admission, streamed = request.stream](wsd::Outcome o) {
                                     metrics.ended(o);
                                     ex->end(i, std::move(o));
                                     if (!streamed) admission.release();  // a stream's places: once written out
                                   }));

      if (!request.stream) {
        // A client that went away (closed its connection) cancels its conversations: their
        // slots free as they end, and the request is counted as 499, as nginx names it.
        while (!ex->wait_ended(std::chrono::milliseconds(100)))
          if (req.is_connection_closed()) {
            for (auto cid : ids) pair->cancel(cid);
            return answered(*ex, 499);
          }
        auto answer = ex->wait_response();
        if (const auto* e = std::get_if<ApiError>(&answer)) {
          ex->finished(e->status);
          return error(res, *e);
        }
        res.set_content(wsd::serve::json_text(std::get<json>(answer)), "application/json");
        return answered(*ex, 200);
      }

      // Streaming: the events as they come; a client that goes away cancels its conversations.
      // /metrics counts the stream once it ended: 499 for a client gone before the end, a failed
      // choice's status (told in an error event), else 200.
      res.set_header("Cache-Control", "no-cache");
      res.set_chunked_content_provider(
          "text/event-stream",
          [ex, ids, &pair](std::size_t, httplib::DataSink& sink) {
            auto gone = [&] {
              for (auto cid : ids) pair->cancel(cid);
              return false;
            };
            const auto taken = ex->take(std::chrono::milliseconds(200));
            for (const std::string& e : taken.events)
              if (!sink.write(e.data(), e.size())) return gone();
            if (!sink.is_writable()) return gone();
            if (taken.finished) sink.done();
            return true;
          },
          [ex, ids, &pair, &deadline, &admission, &answered, addr = req.remote_addr, port = req.remote_port](bool success) {
            deadline->answered(addr, port);  // the stream ended: a client gone cancels
            const bool gone = !success && !ex->all_ended();
            if (gone)
              for (auto cid : ids) pair->cancel(cid);
            answered(*ex, gone ? 499 : ex->status());
            admission.release(ids.size());  // written out (or given up): SIGTERM's drain may stop the server
          });
    };

    routes = {{"GET", "/", &page},
              {"GET", "/health", &health},
              {"GET", "/metrics", &prometheus},
              {"GET", "/v1/models", &models},
              {"GET", R"(/v1/models/(.+))", &model},
              {"POST", "/v1/chat/completions", &chat}};
    for (const Route& r : routes) {
      if (r.method == "GET") svr.Get(r.pattern, *r.handler);
      if (r.method == "POST") svr.Post(r.pattern, *r.handler);
    }

    if (port == 0) port = svr.bind_to_any_port(host);
    else if (!svr.bind_to_port(host, port))
      throw wsd::ConfigError("--host " + host + " --port " + std::to_string(port) + ": cannot listen there (in use?)");
    const std::string late = wsd::serve::json_text(
        wsd::serve::ApiError(408, "the request was not sent within " + CLI::detail::to_string(read_timeout_s) + " s (--read-timeout)", "",
                             "invalid_request_error", "request_timeout")
            .body());
    deadline.emplace(port, std::chrono::duration<double>(read_timeout_s),
                     "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nContent-Length: " +
                         std::to_string(late.size()) + "\r\nConnection: close\r\n\r\n" + late,
                     [&] { metrics.status(408); });
    std::thread http([&] { svr.listen_after_bind(); });
    std::fprintf(stderr, "wsd-server: listening on http://%s:%d (loading the models)\n", host.c_str(), port);

    wsd::LlamaOptions opts;
    opts.context = context;
    wsd::tools::OpenedPair opened;
    try {
      opened = wsd::tools::open_pair(pair_flags, placement, strong_server, opts, parallel);
    } catch (...) {
      svr.stop();
      http.join();
      throw;
    }
    metrics.devices(opened.weak_device, opened.strong_device, opened.weak_engine, opened.strong_engine);
    base.shared_vocabulary = pair_flags.shared_vocabulary(base.shared_vocabulary, opened.same_vocabulary);
    std::visit([&](auto& pairs) { pair = std::make_unique<wsd::serve::PairLoop<std::decay_t<decltype(*pairs)>>>(std::move(pairs)); },
               opened.pairs);
    ready = true;
    std::fprintf(stderr, "wsd-server: ready: model '%s' = %s (%s) -> %s%s (%s), %zu in flight\n", model_name.c_str(),
                 opened.weak_name.c_str(), opened.weak_device.c_str(), opened.strong_name.c_str(),
                 opened.remote() ? (" at " + strong_server.url()).c_str() : "", opened.strong_device.c_str(), parallel);

    int sig = 0;
    sigwait(&signals, &sig);
    std::fprintf(stderr, "wsd-server: %s: letting %zu answers finish (up to %.0f s)\n", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                 admission.outstanding(), grace_s);
    // New requests get 503; what is left after the grace ends cancelled, each handler writing its ends.
    admission.drain(std::chrono::duration<double>(grace_s), [&] { pair->cancel_all(); });
    svr.stop();  // joins the handlers
    http.join();
    pair.reset();
    std::fprintf(stderr, "wsd-server: stopped\n");
    return 0;
  } catch (...) {
    return wsd::tools::report_error("wsd-server");
  }
}
