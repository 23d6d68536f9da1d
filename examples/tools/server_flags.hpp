#pragma once
// The flags that put the strong model on an OpenAI-compatible server (vLLM, SGLang,
// llama-cpp-python's server) instead of a GGUF file in this process.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <wsd/providers/http/openai_http.hpp>

namespace wsd::tools {

class ServerFlags {
 public:
  // `key_flag`: the flag naming the server's key's variable (wsd-server has its own --api-key-env).
  explicit ServerFlags(CLI::App& app, std::string key_flag = "--api-key-env") : key_flag_(std::move(key_flag)) {
    app.add_option("--strong-url", url_,
                   "the strong model's server: its OpenAI API base URL, ending in /v1 "
                   "(e.g. http://127.0.0.1:8089/v1); replaces --strong");
    app.add_option("--strong-model", model_, "the model name the server serves (default: the first it lists)");
    app.add_option(key_flag_, key_env_,
                   "read the server's API key (a bearer token) from this environment variable");
    app.add_option("--timeout", timeout_, "seconds a request to the server may take (a stream: may stall)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
  }

  bool remote() const { return !url_.empty(); }
  const std::string& url() const { return url_; }

  // Connects to the server and checks it (see OpenAIServer).
  std::shared_ptr<const OpenAIServer> connect() const {
    OpenAIOptions o;
    o.url = url_;
    o.model = model_;
    o.http.timeout_s = timeout_;
    if (!key_env_.empty()) {
      const char* key = std::getenv(key_env_.c_str());
      if (!key || !*key) throw ConfigError(key_flag_ + ": the environment variable " + key_env_ + " is not set");
      o.http.api_key = key;
    }
    return std::make_shared<const OpenAIServer>(std::move(o));
  }

 private:
  std::string key_flag_, url_, model_, key_env_;
  double timeout_ = 600.0;
};

}  // namespace wsd::tools
