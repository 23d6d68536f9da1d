#pragma once
// The strong model on a serving engine (vLLM, SGLang, llama-cpp-python's server), reached through
// the OpenAI-compatible completions API these engines share. OpenAIServer is the connection (one
// per server, shared by every conversation in flight, thread-safe); OpenAISequence is one
// conversation's ScoringSequence over it:
//   score:  POST /completions {echo, logprobs: 1, max_tokens: 1, temperature: 0}: the log p of
//           each echoed prompt token (the engines' prompt scoring);
//   write:  POST /completions {stream: true, max_tokens, sampling}: the answer as server-sent events;
//   tokens: POST /tokenize, /detokenize (vLLM) or /extras/tokenize, /extras/detokenize (llama-cpp-python).
// llama-cpp-python takes text prompts only: the text of the tokens to score is checked to tokenize
// back to exactly those tokens before it is sent. vLLM takes the token ids themselves.
// Every request is written once, as a coroutine (a Task): awaited from an engine loop
// it goes through the server's HttpEngine while the loop goes on; run_now(task) sends it at once.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "wsd/core/concepts.hpp"
#include "wsd/core/errors.hpp"
#include "wsd/core/task.hpp"
#include "wsd/providers/http/http_client.hpp"
#include "wsd/sampling/sampler.hpp"
#include "wsd/core/types.hpp"

namespace wsd {

struct OpenAIOptions {
  std::string url;    // the API's base URL, ending in /v1 (e.g. http://127.0.0.1:8089/v1)
  std::string model;  // the served model's name; empty: the first one /models lists
  HttpOptions http;
};

class OpenAIServer {
 public:
  // Which tokenizer endpoints the server has (the completions API is the same).
  enum class Kind { vllm, llama_cpp_python };

  // Connects, checks that the model is served, finds the tokenizer endpoints and the BOS token,
  // and checks that echoed log-probabilities belong to their tokens (see check_scoring()).
  explicit OpenAIServer(OpenAIOptions options)
      : options_(std::move(options)), api_(options_.url, options_.http), root_(root_of(options_.url), options_.http) {
    if (!api_.base_url().ends_with("/v1"))
      throw ConfigError("strong model URL " + options_.url + ": expected the API's base URL, ending in /v1");
    pick_model();
    find_tokenizer();
    check_scoring();
  }
  OpenAIServer(const OpenAIServer&) = delete;
  OpenAIServer& operator=(const OpenAIServer&) = delete;

  const std::string& url() const { return api_.base_url(); }
  const std::string& model() const { return model_; }
  Kind kind() const { return kind_; }
  // HTTP requests sent to this server so far (all conversations, retries included).
  std::size_t requests() const { return api_.requests() + root_.requests(); }
  // Of those, the ones sent at once, blocking their thread (not awaited through an engine loop).
  std::size_t requests_at_once() const { return api_.requests_at_once() + root_.requests_at_once(); }

  // Tokenizer: each call a Task, awaited (through this server's HttpEngine where an engine loop
  // runs the awaiting coroutine) or run at once with run_now. The server does not publish its
  // vocabulary's size: ids are whatever it returns.
  const SpecialTokens& special_tokens() const { return special_; }  // BOS; the server stops at EOS itself

  // The server's tokens of text, special-token text parsed, no BOS added (a text tokenized lately:
  // from memory).
  Task<std::vector<Token>> tokenize(std::string text) const {
    if (auto known = recalled_tokens(text)) co_return *known;
    std::vector<Token> tokens = co_await server_tokenize(text);
    remember(tokens, std::move(text));
    co_return tokens;
  }

  // A token's text (cached): the server's detokenization of it alone.
  Task<std::string> token_text(Token t) const {
    if (auto known = cached_text(t)) co_return *known;
    std::vector<Token> one(1, t);  // not a braced temporary in the co_await: GCC 12 cannot
    std::string text = co_await server_detokenize(std::move(one));
    {
      std::lock_guard lock(mutex_);
      texts_.emplace(t, text);
    }
    co_return text;
  }

  Task<std::string> detokenize(std::vector<Token> tokens) const {
    if (tokens.size() == 1) co_return co_await token_text(tokens[0]);  // from memory once known
    if (tokens.empty()) co_return std::string();
    co_return co_await server_detokenize(std::move(tokens));
  }

  // log P(tokens[i] | tokens[..i]) for the last `targets` tokens, from one echoed completion.
  Task<std::vector<double>> score(std::vector<Token> tokens, std::size_t targets) const {
    if (targets == 0) co_return std::vector<double>{};
    const std::size_t leading = tokens.size() - targets;
    if (leading == 0 || (leading == 1 && special_.bos && tokens[0] == *special_.bos))
      throw ProviderError(url() + ": the first token of a text has no log-probability to judge");
    nlohmann::json body = co_await completion_body(tokens, 1);
    body["echo"] = true;
    body["logprobs"] = 1;
    body["temperature"] = 0.0;
    const HttpClient::Response r = co_await api_.post_async(engine_, "/completions", body);
    co_return score_answer(api_.json_of("POST", "/completions", r), tokens, targets);
  }

  // Streams what the server writes after the context (up to max_tokens), piece by piece;
  // on_piece returning false hangs up, which stops the server. Awaited as above.
  Task<WriteEnd> write_text(std::vector<Token> context, std::size_t max_tokens, SamplingParams sampling,
                            const PieceCallback& on_piece) const {
    if (max_tokens == 0) co_return WriteEnd::length;
    nlohmann::json body = co_await completion_body(context, max_tokens);
    add_sampling(body, sampling);
    StreamReader reader{*this, on_piece};
    const HttpClient::EventCallback on_event = [&](const nlohmann::json& event) { return reader(event); };
    co_await api_.post_stream_async(engine_, "/completions", body, on_event);
    co_return reader.end();
  }

  // The engine that sends this server's awaited requests (one per server, shared by its sequences).
  const std::shared_ptr<HttpEngine>& engine() const { return engine_; }

 private:
  // The log p of the last `targets` of `tokens` in an echoed completion's answer.
  std::vector<double> score_answer(const nlohmann::json& out, std::span<const Token> tokens, std::size_t targets) const {
    const nlohmann::json& logprobs = field(out, "/choices/0/logprobs/token_logprobs", "/completions (echo)");
    const std::size_t written = usage(out, "completion_tokens");
    const std::size_t prompt = usage(out, "prompt_tokens");
    if (prompt != tokens.size())
      throw ProviderError(url() + "/completions: the server read " + std::to_string(prompt) + " prompt tokens, " +
                          std::to_string(tokens.size()) + " were sent");
    if (!logprobs.is_array() || logprobs.size() < written || logprobs.size() - written < targets)
      throw ProviderError(url() + "/completions: " + std::to_string(logprobs.size()) +
                          " echoed log-probabilities for " + std::to_string(tokens.size()) + " prompt tokens");
    const std::size_t end = logprobs.size() - written;  // the echoed prompt's share (BOS may be left out)
    std::vector<double> out_p;
    out_p.reserve(targets);
    for (std::size_t i = end - targets; i < end; ++i) {
      if (!logprobs[i].is_number())
        throw ProviderError(url() + "/completions: no log-probability for echoed token " + std::to_string(i) +
                            " (got " + logprobs[i].dump() + ")");
      out_p.push_back(logprobs[i].get<double>());
    }
    return out_p;
  }

  // A streamed completion's body: the server's sampling.
  static void add_sampling(nlohmann::json& body, const SamplingParams& sampling) {
    body["stream"] = true;
    body["temperature"] = sampling.temperature;
    body["repeat_penalty"] = body["repetition_penalty"] = sampling.repetition_penalty;  // the server's own penalty
    if (sampling.temperature > 0.0) {
      body["top_p"] = sampling.top_p;
      if (sampling.top_k > 0) body["top_k"] = sampling.top_k;
      body["seed"] = sampling.seed;
    }
  }

  // Reads a completion's stream: each piece of text to on_piece, and how it ended.
  struct StreamReader {
    const OpenAIServer& server;
    const PieceCallback& on_piece;
    std::string finish{};
    bool stopped = false;
    bool operator()(const nlohmann::json& event) {
      const nlohmann::json& choice = server.field(event, "/choices/0", "/completions (stream)");
      const nlohmann::json& text = server.field(choice, "/text", "/completions (stream)");
      if (!text.is_string()) throw ProviderError(server.url() + "/completions (stream): \"text\" is " + text.dump());
      if (!text.get_ref<const std::string&>().empty() && !on_piece(text.get_ref<const std::string&>())) {
        stopped = true;
        return false;
      }
      if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) finish = choice["finish_reason"];
      return true;
    }
    WriteEnd end() const {
      if (stopped) return WriteEnd::callback;
      if (finish == "length") return WriteEnd::length;
      if (finish == "stop") return WriteEnd::eos;  // no stop strings are sent: the end of generation
      throw ProviderError(server.url() + "/completions: the stream ended without a finish_reason" +
                          (finish.empty() ? std::string(" (llama-cpp-python's server ends a stream when another request "
                                                        "comes, unless started with --interrupt_requests false)")
                                          : " it knows (got \"" + finish + "\")"));
    }
  };

  static std::string root_of(std::string url) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    if (url.ends_with("/v1")) url.resize(url.size() - 3);
    return url;
  }

  // The JSON value at `pointer`, or an error naming the endpoint (`what`, on the API's base URL or
  // on the server's root) and the missing field.
  const nlohmann::json& field(const nlohmann::json& j, const char* pointer, const char* what,
                              const HttpClient* at = nullptr) const {
    const nlohmann::json::json_pointer p(pointer);
    if (!j.is_object() || !j.contains(p))
      throw ProviderError((at ? *at : api_).url(what) + ": the answer has no " + pointer + " (got " + j.dump().substr(0, 200) + ")" +
                          (std::string_view(pointer).find("logprobs") != std::string_view::npos
                               ? "; the server does not return log-probabilities (llama-cpp-python: start it with "
                                 "--logits_all true, its default)"
                               : ""));
    return j.at(p);
  }

  std::size_t usage(const nlohmann::json& out, const char* name) const {
    const std::string pointer = std::string("/usage/") + name;
    const nlohmann::json& v = field(out, pointer.c_str(), "/completions");
    if (!v.is_number_unsigned()) throw ProviderError(url() + "/completions: usage." + name + " is " + v.dump());
    return v.get<std::size_t>();
  }

  // The request for a completion after `tokens`: ids for vLLM, their checked text otherwise.
  Task<nlohmann::json> completion_body(const std::vector<Token>& tokens, std::size_t max_tokens) const {
    nlohmann::json body = {{"model", model_},           {"max_tokens", max_tokens}, {"repeat_penalty", 1.0},
                           {"repetition_penalty", 1.0}, {"frequency_penalty", 0.0}, {"presence_penalty", 0.0}};
    if (kind_ == Kind::vllm)
      body["prompt"] = tokens;
    else
      body["prompt"] = co_await text_of(tokens);
    co_return body;
  }

  // The text the server tokenizes into exactly these tokens (BOS first when the model adds one).
  Task<std::string> text_of(const std::vector<Token>& tokens) const {
    std::span<const Token> rest = tokens;
    if (special_.bos && !rest.empty() && rest[0] == *special_.bos)
      rest = rest.subspan(1);
    else if (special_.bos)
      throw ProviderError(url() + ": the server adds BOS to every prompt; these tokens do not start with it");
    if (auto known = recalled(rest)) co_return *known;
    std::string text = co_await server_detokenize(std::vector<Token>(rest.begin(), rest.end()));
    const std::vector<Token> back = co_await server_tokenize(text);
    if (!std::equal(back.begin(), back.end(), rest.begin(), rest.end())) {
      std::size_t i = 0;
      while (i < back.size() && i < rest.size() && back[i] == rest[i]) ++i;
      throw ProviderError(url() + ": the server tokenizes the text of the " + std::to_string(rest.size()) +
                          " tokens to judge into " + std::to_string(back.size()) + " tokens (they differ from token " +
                          std::to_string(i) +
                          "); this server takes text prompts only, so they cannot be scored as they are");
    }
    remember(rest, text);
    co_return text;
  }

  Task<std::vector<Token>> server_tokenize(const std::string& text) const {
    const bool vllm = kind_ == Kind::vllm;
    const char* what = vllm ? "/tokenize" : "/extras/tokenize";
    const nlohmann::json body = vllm ? nlohmann::json{{"model", model_}, {"prompt", text}, {"add_special_tokens", false}}
                                     : nlohmann::json{{"input", text}};
    const HttpClient::Response r = co_await root_.post_async(engine_, what, body);
    const nlohmann::json out = root_.json_of("POST", what, r);
    const nlohmann::json& tokens = field(out, "/tokens", what, &root_);
    std::vector<Token> ids;
    try {
      ids = tokens.get<std::vector<Token>>();
    } catch (const nlohmann::json::exception&) {
      throw ProviderError(root_.url(what) + ": \"tokens\" is not a list of token ids");
    }
    // llama-cpp-python's endpoint always adds the BOS the model adds; the contract adds none.
    if (kind_ == Kind::llama_cpp_python && special_.bos && !ids.empty() && ids[0] == *special_.bos)
      ids.erase(ids.begin());
    co_return ids;
  }

  Task<std::string> server_detokenize(std::vector<Token> ids) const {
    const bool vllm = kind_ == Kind::vllm;
    const char* what = vllm ? "/detokenize" : "/extras/detokenize";
    const nlohmann::json body = vllm ? nlohmann::json{{"model", model_}, {"tokens", ids}} : nlohmann::json{{"tokens", ids}};
    const HttpClient::Response r = co_await root_.post_async(engine_, what, body);
    const nlohmann::json out = root_.json_of("POST", what, r);
    co_return field(out, vllm ? "/prompt" : "/text", what, &root_).get<std::string>();
  }

  // Recently tokenized texts: the text of a token list the server itself made is known exactly.
  void remember(std::span<const Token> tokens, std::string text) const {
    std::lock_guard lock(mutex_);
    recent_.emplace_back(std::vector<Token>(tokens.begin(), tokens.end()), std::move(text));
    if (recent_.size() > 256) recent_.pop_front();
  }
  std::optional<std::string> recalled(std::span<const Token> tokens) const {
    std::lock_guard lock(mutex_);
    for (auto it = recent_.rbegin(); it != recent_.rend(); ++it)
      if (std::equal(it->first.begin(), it->first.end(), tokens.begin(), tokens.end())) return it->second;
    return std::nullopt;
  }
  std::optional<std::vector<Token>> recalled_tokens(std::string_view text) const {
    std::lock_guard lock(mutex_);
    for (auto it = recent_.rbegin(); it != recent_.rend(); ++it)
      if (it->second == text) return it->first;
    return std::nullopt;
  }
  std::optional<std::string> cached_text(Token t) const {
    std::lock_guard lock(mutex_);
    if (auto it = texts_.find(t); it != texts_.end()) return it->second;
    return std::nullopt;
  }

  void pick_model() {
    const nlohmann::json models = api_.get_json("/models");
    const nlohmann::json& data = field(models, "/data", "/models");
    std::vector<std::string> ids;
    if (data.is_array())
      for (const auto& m : data)
        if (m.is_object() && m.contains("id") && m["id"].is_string()) ids.push_back(m["id"]);
    if (ids.empty()) throw ProviderError(url() + "/models: the server lists no models");
    if (options_.model.empty()) {
      model_ = ids.front();
      return;
    }
    if (std::find(ids.begin(), ids.end(), options_.model) == ids.end()) {
      std::string list;
      for (const auto& id : ids) list += (list.empty() ? "\"" : ", \"") + id + "\"";
      throw ProviderError(url() + "/models: the server does not serve model \"" + options_.model + "\" (it serves " +
                          list + ")");
    }
    model_ = options_.model;
  }

  // vLLM has /tokenize, llama-cpp-python /extras/tokenize; the empty text's tokens give the BOS.
  void find_tokenizer() {
    const char* path = "/tokenize";
    auto answer = root_.post(path, {{"model", model_}, {"prompt", ""}, {"add_special_tokens", true}});
    kind_ = Kind::vllm;
    if (answer.status != 200) {
      const long vllm_status = answer.status;
      path = "/extras/tokenize";
      answer = root_.post(path, {{"input", ""}});
      if (answer.status != 200)
        throw ProviderError(url() + ": the server has neither /tokenize (vLLM: HTTP " + std::to_string(vllm_status) +
                            ") nor /extras/tokenize (llama-cpp-python: HTTP " + std::to_string(answer.status) +
                            "); wsd needs the server's tokenizer");
      kind_ = Kind::llama_cpp_python;
    }
    const nlohmann::json out = root_.json_of("POST", path, answer);
    const auto& tokens = field(out, "/tokens", path, &root_);
    if (tokens.is_array() && !tokens.empty() && tokens[0].is_number_integer()) special_.bos = tokens[0].get<Token>();
  }

  // llama-cpp-python pairs each echoed token with the row after it for models without a BOS token
  // (its issue #1983), which would judge shifted probabilities. Greedily written tokens must be the
  // top-1 of their position when the same text is scored with echo; a server that fails is refused.
  void check_scoring() const {
    const std::string prompt = "The capital of France is Paris. The capital of Italy is";
    const nlohmann::json written = api_.post_json("/completions", {{"model", model_},
                                                                   {"prompt", prompt},
                                                                   {"max_tokens", 4},
                                                                   {"temperature", 0.0},
                                                                   {"repeat_penalty", 1.0},
                                                                   {"repetition_penalty", 1.0}});
    const std::string text = field(written, "/choices/0/text", "/completions").get<std::string>();
    const nlohmann::json scored = api_.post_json("/completions", {{"model", model_},
                                                                  {"prompt", prompt + text},
                                                                  {"max_tokens", 1},
                                                                  {"temperature", 0.0},
                                                                  {"echo", true},
                                                                  {"logprobs", 1},
                                                                  {"repeat_penalty", 1.0},
                                                                  {"repetition_penalty", 1.0}});
    const auto& lp = field(scored, "/choices/0/logprobs", "/completions (echo)");
    const auto& p = field(lp, "/token_logprobs", "/completions (echo)");
    const auto& top = field(lp, "/top_logprobs", "/completions (echo)");
    const auto& offsets = field(lp, "/text_offset", "/completions (echo)");
    std::size_t checked = 0, top1 = 0;
    for (std::size_t i = 0; i < p.size() && i < top.size() && i < offsets.size(); ++i) {
      if (!offsets[i].is_number() || offsets[i].get<std::size_t>() < prompt.size()) continue;
      if (offsets[i].get<std::size_t>() >= prompt.size() + text.size()) break;  // the newly written token
      if (!p[i].is_number() || !top[i].is_object() || top[i].empty()) continue;
      double best = -std::numeric_limits<double>::infinity();
      for (const auto& [k, v] : top[i].items())
        if (v.is_number()) best = std::max(best, v.get<double>());
      ++checked;
      if (p[i].get<double>() >= best - 1e-3) ++top1;
    }
    if (checked >= 2 && top1 * 2 < checked)
      throw ProviderError(url() + ": the server's echoed log-probabilities do not belong to their tokens (" +
                          std::to_string(checked - top1) + " of " + std::to_string(checked) +
                          " greedily written tokens are not the top-1 of their position when scored); llama-cpp-python "
                          "does this for models without a BOS token (its issue #1983): wsd will not judge shifted "
                          "probabilities. Serve the model with vLLM, or a model with a BOS token");
  }

  OpenAIOptions options_;
  HttpClient api_, root_;
  std::shared_ptr<HttpEngine> engine_ = std::make_shared<HttpEngine>();
  std::string model_;
  Kind kind_ = Kind::llama_cpp_python;
  SpecialTokens special_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<Token, std::string> texts_;  // token -> its text
  mutable std::deque<std::pair<std::vector<Token>, std::string>> recent_;
};

// One conversation's strong model on a server: the scoring contract (ScoringSequence). Stateless
// on this side (the server keeps or drops its own cache). Its score and write are awaited: while
// a request is out, the engine loop goes on with the other conversations' batches.
class OpenAISequence {
 public:
  explicit OpenAISequence(std::shared_ptr<const OpenAIServer> server, SamplingParams sampling = {})
      : server_(std::move(server)), sampling_(sampling) {}

  // Tokenizer (the server's; each call a Task the strong model awaits).
  const SpecialTokens& special_tokens() const { return server_->special_tokens(); }
  Task<std::vector<Token>> tokenize(std::string_view text) const { return server_->tokenize(std::string(text)); }
  Task<std::string> token_text(Token t) const { return server_->token_text(t); }
  Task<std::string> detokenize(std::span<const Token> tokens) const {
    return server_->detokenize(std::vector<Token>(tokens.begin(), tokens.end()));
  }

  // Awaited: sent through the server's HttpEngine by the engine loop running the decoder (many
  // conversations' requests in flight on its thread), or at once without one.
  Task<std::vector<double>> score(std::span<const Token> context, std::span<const Token> targets) {
    std::vector<Token> all(context.begin(), context.end());
    all.insert(all.end(), targets.begin(), targets.end());
    co_return co_await server_->score(std::move(all), targets.size());
  }

  // The server's stream as it comes (what StrongModel uses: see TextWriter).
  Task<WriteEnd> write_text(std::span<const Token> context, std::size_t max_tokens, const PieceCallback& on_piece) {
    co_return co_await server_->write_text(std::vector<Token>(context.begin(), context.end()), max_tokens,
                                                 sampling_, on_piece);
  }

  // The contract's form: the tokens of the whole text once the stream has ended (the server's
  // stream carries text; asking for the tokens of each piece while it runs would interrupt it).
  Task<WriteEnd> write(std::span<const Token> context, std::size_t max_tokens, const TokenCallback& on_token) {
    std::string text;
    const PieceCallback collect = [&](std::string_view piece) {
      text += piece;
      return true;
    };
    const WriteEnd end = co_await write_text(context, max_tokens, collect);
    const std::vector<Token> tokens = co_await server_->tokenize(text);
    for (Token t : tokens)
      if (!on_token(t)) co_return WriteEnd::callback;
    co_return end;
  }

  void reset() {}
  const OpenAIServer& server() const { return *server_; }
  void set_sampling(const SamplingParams& sampling) { sampling_ = sampling; }
  // Its parameters: the server's sampling for the continuation (its repetition penalty included).
  void describe(Settings& out) const { describe_part(sampling_, out, "continuation."); }

 private:
  std::shared_ptr<const OpenAIServer> server_;
  SamplingParams sampling_;
};

}  // namespace wsd
