#pragma once
// A logits provider over llama.cpp: a GGUF model, its own vocabulary and chat template, batched
// scoring with logits for the rows asked for, and KV-cache rollback.
#include <llama.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "wsd/concepts.hpp"
#include "wsd/errors.hpp"
#include "wsd/text_util.hpp"

namespace wsd {

struct LlamaOptions {
  int context = 4096;   // tokens of KV cache (prompt + draft + continuation)
  int threads = 0;      // 0: all cores
  int batch = 512;      // largest number of tokens one llama_decode call takes
  bool quiet = true;    // silence llama.cpp's own log
  // Batch-invariant numerics: llama.cpp's CPU kernels round differently for different batch
  // sizes (Gemma 3 moves by percents), so a position's logits depend on how it was batched.
  // On: physical batches of at most 4 tokens, no weight repacking, flash attention; every
  // position is then computed by the same kernels however the tokens were batched, and the
  // online decoder reproduces the offline reference bit for bit. Off: llama.cpp's fastest setup.
  bool batch_invariant = true;
};

inline constexpr int kInvariantUbatch = 4;

namespace detail {
// In quiet mode llama.cpp's error lines are kept here (the last few) instead of printed, and the
// provider's errors quote them, so a tool reports a failure in one line.
struct LlamaErrors {
  std::mutex mutex;
  std::string text;
  static LlamaErrors& get() {
    static LlamaErrors e;
    return e;
  }
  void add(const char* line) {
    std::lock_guard lock(mutex);
    text += line;
    if (text.size() > 4096) text.erase(0, text.size() - 4096);
  }
  // What was logged since the last take, as one line.
  std::string take() {
    std::lock_guard lock(mutex);
    std::string out;
    for (char c : text) out += (c == '\n' || c == '\r') ? ' ' : c;
    text.clear();
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
  }
};

inline void llama_backend_once(bool quiet) {
  static std::once_flag once;
  std::call_once(once, [quiet] {
    if (quiet) llama_log_set([](ggml_log_level level, const char* text, void*) {
      if (level == GGML_LOG_LEVEL_ERROR) LlamaErrors::get().add(text);
    }, nullptr);
    llama_backend_init();
  });
}

// " (llama.cpp: ...)" with the errors it logged, or nothing.
inline std::string llama_said() {
  const std::string e = LlamaErrors::get().take();
  return e.empty() ? std::string() : " (llama.cpp: " + e + ")";
}

// Throws ModelError when the file is missing, unreadable or not GGUF, before llama.cpp sees it.
inline void check_gguf_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw ModelError("model file " + path + " does not exist");
  if (!fs::is_regular_file(path, ec)) throw ModelError("model file " + path + " is not a regular file");
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw ModelError("model file " + path + " cannot be opened for reading");
  char magic[4] = {};
  if (std::fread(magic, 1, 4, f.get()) != 4 || std::string_view(magic, 4) != "GGUF")
    throw ModelError("model file " + path + " is not a GGUF file (no GGUF magic at its start)");
}
// The system message a chatml Jinja template inserts when the conversation has none
// ("{% if loop.first and messages[0]['role'] != 'system' %}...<|im_start|>system\n TEXT<|im_end|>").
inline std::string default_system_message(std::string_view tmpl) {
  const auto cond = tmpl.find("messages[0]['role'] != 'system'");
  if (cond == std::string_view::npos) return {};
  const std::string_view open = "<|im_start|>system\n";
  const auto start = tmpl.find(open, cond);
  const auto endif = tmpl.find("{% endif %}", cond);
  if (start == std::string_view::npos || start > endif) return {};
  const auto end = tmpl.find("<|im_end|>", start);
  if (end == std::string_view::npos || end > endif) return {};
  return std::string(tmpl.substr(start + open.size(), end - start - open.size()));
}
}  // namespace detail

class LlamaProvider {
 public:
  explicit LlamaProvider(const std::string& path, LlamaOptions options = {}) : path_(path), options_(options) {
    detail::llama_backend_once(options.quiet);
    detail::check_gguf_file(path);
    llama_model_params mp = llama_model_default_params();
    mp.use_extra_bufts = !options.batch_invariant;
    detail::LlamaErrors::get().take();
    model_.reset(llama_model_load_from_file(path.c_str(), mp));
    if (!model_)
      throw ModelError("model file " + path + " could not be loaded by llama.cpp: truncated or unsupported GGUF" +
                       detail::llama_said());
    vocab_ = llama_model_get_vocab(model_.get());
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = static_cast<uint32_t>(options.context);
    cp.n_batch = static_cast<uint32_t>(options.batch);
    cp.n_ubatch = static_cast<uint32_t>(options.batch);
    cp.n_seq_max = 1;
    const int threads = options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    cp.n_threads = threads;
    cp.n_threads_batch = threads;
    cp.swa_full = true;  // a sliding-window cache must keep every position, or rollback cannot work
    cp.no_perf = true;
    if (options.batch_invariant) {
      cp.n_ubatch = static_cast<uint32_t>(std::min(options.batch, kInvariantUbatch));
      cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_ENABLED;
    }
    ctx_.reset(llama_init_from_model(model_.get(), cp));
    if (!ctx_)
      throw ModelError("llama.cpp could not create a context of " + std::to_string(options.context) + " tokens for " +
                       path + detail::llama_said());
    n_vocab_ = static_cast<std::size_t>(llama_vocab_n_tokens(vocab_));
    // As the reference: a model whose tokenizer has a BOS token gets it first (unless already there).
    if (const Token bos = llama_vocab_bos(vocab_); bos != LLAMA_TOKEN_NULL) special_.bos = bos;
    for (Token t = 0; t < static_cast<Token>(n_vocab_); ++t)
      if (llama_vocab_is_eog(vocab_, t)) special_.end_of_generation.push_back(t);
    pieces_.resize(n_vocab_);
    batch_ = llama_batch_init(options.batch, 0, 1);
  }
  ~LlamaProvider() { llama_batch_free(batch_); }
  LlamaProvider(const LlamaProvider&) = delete;
  LlamaProvider& operator=(const LlamaProvider&) = delete;

  std::size_t vocab_size() const { return n_vocab_; }
  const SpecialTokens& special_tokens() const { return special_; }
  std::size_t length() const { return tokens_.size(); }
  std::size_t context_size() const { return static_cast<std::size_t>(llama_n_ctx(ctx_.get())); }
  const std::string& path() const { return path_; }

  std::vector<Token> tokenize(std::string_view text) const {
    std::vector<Token> out(text.size() + 8);
    int n = llama_tokenize(vocab_, text.data(), static_cast<int32_t>(text.size()), out.data(),
                           static_cast<int32_t>(out.size()), false, true);
    if (n < 0) {
      out.resize(static_cast<std::size_t>(-n));
      n = llama_tokenize(vocab_, text.data(), static_cast<int32_t>(text.size()), out.data(),
                         static_cast<int32_t>(out.size()), false, true);
    }
    if (n < 0) throw InputError("llama.cpp could not tokenize a text of " + std::to_string(text.size()) + " bytes");
    out.resize(static_cast<std::size_t>(n));
    return out;
  }

  // The token's bytes with special tokens rendered (cached: pieces are asked for often).
  const std::string& token_text(Token t) const {
    check_token(t);
    auto& p = pieces_[static_cast<std::size_t>(t)];
    if (!p) p = piece(t, true);
    return *p;
  }

  std::string detokenize(std::span<const Token> tokens) const {
    std::string out;
    for (Token t : tokens) {
      check_token(t);
      if (llama_vocab_get_attr(vocab_, t) & (LLAMA_TOKEN_ATTR_CONTROL | LLAMA_TOKEN_ATTR_UNKNOWN)) continue;
      out += token_text(t);
    }
    return out;
  }

  // Appends tokens to the KV cache in llama_decode calls of at most `batch` tokens and returns
  // the logits of the rows asked for (indices into tokens, ascending).
  LogitsBlock append(std::span<const Token> tokens, std::span<const std::size_t> rows) {
    if (tokens_.size() + tokens.size() > context_size())
      throw ContextOverflowError(path_ + ": " + std::to_string(tokens_.size() + tokens.size()) +
                                 " tokens do not fit its context window of " + std::to_string(context_size()) +
                                 " tokens (shorten the conversation, lower the token limits or raise the context)");
    logits_.clear();
    std::size_t next_row = 0;
    const std::size_t batch = static_cast<std::size_t>(options_.batch);
    for (std::size_t begin = 0; begin < tokens.size(); begin += batch) {
      const std::size_t end = std::min(tokens.size(), begin + batch);
      batch_.n_tokens = static_cast<int32_t>(end - begin);
      std::size_t outputs = 0;
      const std::size_t first_row = next_row;
      for (std::size_t i = begin; i < end; ++i) {
        check_token(tokens[i]);
        const std::size_t j = i - begin;
        batch_.token[j] = tokens[i];
        batch_.pos[j] = static_cast<llama_pos>(tokens_.size() + i);
        batch_.n_seq_id[j] = 1;
        batch_.seq_id[j][0] = 0;
        const bool wanted = next_row < rows.size() && rows[next_row] == i;
        batch_.logits[j] = wanted;
        if (wanted) ++next_row, ++outputs;
      }
      if (const int rc = llama_decode(ctx_.get(), batch_); rc != 0)
        throw ModelError(path_ + ": llama_decode failed with code " + std::to_string(rc) + detail::llama_said());
      if (outputs > 0) {
        const float* data = llama_get_logits(ctx_.get());
        if (end == tokens.size() && first_row == 0) {  // all wanted rows came from this one call: no copy
          tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
          if (next_row != rows.size()) throw std::invalid_argument("LlamaProvider::append: rows must be ascending indices into tokens");
          return {data, rows.size(), n_vocab_};
        }
        logits_.insert(logits_.end(), data, data + outputs * n_vocab_);
      }
    }
    tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
    if (next_row != rows.size()) throw std::invalid_argument("LlamaProvider::append: rows must be ascending indices into tokens");
    return {logits_.data(), rows.size(), n_vocab_};
  }

  void rollback(std::size_t n) {
    if (n >= tokens_.size()) return;
    if (!llama_memory_seq_rm(llama_get_memory(ctx_.get()), 0, static_cast<llama_pos>(n), -1))
      throw ModelError(path_ + ": llama.cpp could not roll its cache back to " + std::to_string(n) + " tokens");
    tokens_.resize(n);
  }

  // The model's own chat template from its metadata, with the generation prompt added.
  std::string apply_chat_template(const Conversation& c) const {
    const char* tmpl = llama_model_chat_template(model_.get(), nullptr);
    if (!tmpl) throw ModelError(path_ + " has no chat template in its metadata (tokenizer.chat_template)");
    std::vector<llama_chat_message> msgs;
    std::size_t total = 0;
    // llama.cpp's template engine skips Jinja logic; the one piece of it that changes the
    // prompt of common chatml models is a default system message, added here as Jinja would.
    const std::string default_system = detail::default_system_message(tmpl);
    if (!default_system.empty() && c.messages.front().role != "system")
      msgs.push_back({"system", default_system.c_str()});
    for (const auto& m : c.messages) {
      msgs.push_back({m.role.c_str(), m.content.c_str()});
      total += m.content.size() + m.role.size() + 32;
    }
    std::string out(2 * total + 256, '\0');
    int n = llama_chat_apply_template(tmpl, msgs.data(), msgs.size(), true, out.data(), static_cast<int32_t>(out.size()));
    if (n > static_cast<int>(out.size())) {
      out.resize(static_cast<std::size_t>(n));
      n = llama_chat_apply_template(tmpl, msgs.data(), msgs.size(), true, out.data(), static_cast<int32_t>(out.size()));
    }
    if (n < 0) throw ModelError(path_ + ": llama.cpp does not support the chat template in its metadata");
    out.resize(static_cast<std::size_t>(n));
    return out;
  }

  // A string from the GGUF metadata ("" when the key is absent).
  std::string metadata(const std::string& key) const {
    std::string buf(256, '\0');
    int n = llama_model_meta_val_str(model_.get(), key.c_str(), buf.data(), buf.size());
    if (n < 0) return {};
    if (static_cast<std::size_t>(n) >= buf.size()) {
      buf.resize(static_cast<std::size_t>(n) + 1);
      n = llama_model_meta_val_str(model_.get(), key.c_str(), buf.data(), buf.size());
    }
    buf.resize(static_cast<std::size_t>(n));
    return buf;
  }

  // Raw handles, for measuring llama.cpp without this provider in between.
  llama_context* context() { return ctx_.get(); }
  const llama_vocab* vocab() const { return vocab_; }

 private:
  struct ModelFree { void operator()(llama_model* m) const { llama_model_free(m); } };
  struct ContextFree { void operator()(llama_context* c) const { llama_free(c); } };

  void check_token(Token t) const {
    if (t < 0 || static_cast<std::size_t>(t) >= n_vocab_)
      throw ProviderError(path_ + ": token id " + std::to_string(t) + " is outside its vocabulary of " + std::to_string(n_vocab_));
  }

  std::string piece(Token t, bool special) const {
    std::string out(64, '\0');
    int n = llama_token_to_piece(vocab_, t, out.data(), static_cast<int32_t>(out.size()), 0, special);
    if (n < 0) {
      out.resize(static_cast<std::size_t>(-n));
      n = llama_token_to_piece(vocab_, t, out.data(), static_cast<int32_t>(out.size()), 0, special);
    }
    out.resize(static_cast<std::size_t>(std::max(n, 0)));
    return out;
  }

  std::string path_;
  LlamaOptions options_;
  std::unique_ptr<llama_model, ModelFree> model_;
  std::unique_ptr<llama_context, ContextFree> ctx_;
  const llama_vocab* vocab_ = nullptr;
  std::size_t n_vocab_ = 0;
  SpecialTokens special_;
  mutable std::vector<std::optional<std::string>> pieces_;
  std::vector<Token> tokens_;
  std::vector<float> logits_;
  llama_batch batch_{};
};

static_assert(ChatProvider<LlamaProvider>);

}  // namespace wsd
