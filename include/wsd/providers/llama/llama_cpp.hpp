#pragma once
// llama.cpp behind wsd's contract: LlamaModel (weights, vocabulary, chat template; loaded once,
// shared, const) and LlamaSequence (one KV cache over it: batched append with the logits rows asked
// for, rollback). LlamaProvider is a model with one sequence.
#include <llama.h>

#include <algorithm>
#include <coroutine>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "wsd/core/concepts.hpp"
#include "wsd/core/engine.hpp"
#include "wsd/core/errors.hpp"
#include "wsd/core/settings.hpp"
#include "wsd/providers/llama/cpu_check.hpp"
#include "wsd/providers/llama/devices.hpp"
#include "wsd/providers/llama/invariance.hpp"
#include "wsd/providers/llama/options.hpp"
#include "wsd/core/strings.hpp"

namespace wsd {

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

// The weights, vocabulary and chat template of a GGUF model: loaded once and shared by its
// sequences (std::shared_ptr<const LlamaModel>); const and safe to use from several threads.
class LlamaModel {
 public:
  explicit LlamaModel(const std::string& path, LlamaOptions options = {}) : path_(path), options_(options) {
    check_llama_cpu();
    detail::llama_backend_once(options.quiet);
    placement_ = place_layers(options, path);  // first: a GPU asked for where there is none needs no file
    detail::check_gguf_file(path);
    cpu_invariance_ = cpu_invariance(path);
    llama_model_params mp = llama_model_default_params();
    // Extra buffer types repack weights (and hold AMX kernels): in batch-invariant mode only on the
    // CPU and where their kernels follow the reference kernels (invariance.hpp), and never where the
    // build has AMX kernels that this CPU cannot run.
    mp.use_extra_bufts = (!options.batch_invariant || (on_cpu() && reference_repack())) &&
                         (!ggml_cpu_has_amx_int8() || llama_amx_usable());
    mp.n_gpu_layers = placement_.gpu_layers;
    mp.split_mode = options.split_mode == SplitMode::none    ? LLAMA_SPLIT_MODE_NONE
                    : options.split_mode == SplitMode::layer ? LLAMA_SPLIT_MODE_LAYER
                                                             : LLAMA_SPLIT_MODE_ROW;
    mp.main_gpu = options.main_gpu;
    std::vector<float> split(llama_max_devices(), 0.0f);  // llama.cpp reads llama_max_devices() shares
    std::copy_n(options.tensor_split.begin(), std::min(options.tensor_split.size(), split.size()), split.begin());
    mp.tensor_split = options.tensor_split.empty() ? nullptr : split.data();
    detail::LlamaErrors::get().take();
    model_.reset(llama_model_load_from_file(path.c_str(), mp));
    if (!model_)
      throw ModelError("model file " + path + " could not be loaded by llama.cpp: truncated or unsupported GGUF" +
                       detail::llama_said());
    vocab_ = llama_model_get_vocab(model_.get());
    n_vocab_ = static_cast<std::size_t>(llama_vocab_n_tokens(vocab_));
    // As the reference: a model whose tokenizer has a BOS token gets it first (unless already there).
    if (const Token bos = llama_vocab_bos(vocab_); bos != LLAMA_TOKEN_NULL) special_.bos = bos;
    pieces_.reserve(n_vocab_);
    skipped_.reserve(n_vocab_);
    for (Token t = 0; t < static_cast<Token>(n_vocab_); ++t) {
      if (llama_vocab_is_eog(vocab_, t)) special_.end_of_generation.push_back(t);
      pieces_.push_back(piece(t));  // all at load, so that token_text is a const lookup
      skipped_.push_back((llama_vocab_get_attr(vocab_, t) & (LLAMA_TOKEN_ATTR_CONTROL | LLAMA_TOKEN_ATTR_UNKNOWN)) != 0);
    }
  }
  LlamaModel(const LlamaModel&) = delete;
  LlamaModel& operator=(const LlamaModel&) = delete;

  std::size_t vocab_size() const { return n_vocab_; }
  const SpecialTokens& special_tokens() const { return special_; }
  const std::string& path() const { return path_; }
  const LlamaOptions& options() const { return options_; }
  // Where its layers are: "CPU", or the GPUs that hold them.
  const Placement& placement() const { return placement_; }
  // How exact mode batches it: the widest physical batch its backend computes bit for bit as each
  // token alone, and whether sequences may share one; on the CPU it depends on the kernels and the
  // weights' types (invariance.hpp), on a GPU on the backend (devices.hpp).
  BatchInvariance invariance() const { return on_cpu() ? cpu_invariance_ : gpu_invariance(placement_); }
  // The kernels its contexts compute with: "fast" (llama.cpp's fastest), "reference" (batch-invariant
  // mode on the CPU with ggml's reference kernels) or "stock" (batch-invariant mode on a GPU backend,
  // or where llama.cpp has no reference kernels: narrow batches only).
  std::string kernels() const {
    return !options_.batch_invariant ? "fast" : kLlamaReferenceKernels && on_cpu() ? "reference" : "stock";
  }
  // Whether every layer is on the CPU (the reference kernels are the CPU backend's).
  bool on_cpu() const { return placement_.devices.empty(); }

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

  // The token's bytes with special tokens rendered.
  const std::string& token_text(Token t) const {
    check_token(t);
    return pieces_[static_cast<std::size_t>(t)];
  }

  std::string detokenize(std::span<const Token> tokens) const {
    std::string out;
    for (Token t : tokens) {
      check_token(t);
      if (!skipped_[static_cast<std::size_t>(t)]) out += pieces_[static_cast<std::size_t>(t)];
    }
    return out;
  }

  void check_token(Token t) const {
    if (t < 0 || static_cast<std::size_t>(t) >= n_vocab_)
      throw ProviderError(path_ + ": token id " + std::to_string(t) + " is outside its vocabulary of " + std::to_string(n_vocab_));
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

  llama_model* handle() const { return model_.get(); }
  const llama_vocab* vocab() const { return vocab_; }

 private:
  struct ModelFree { void operator()(llama_model* m) const { llama_model_free(m); } };

  std::string piece(Token t) const {
    std::string out(64, '\0');
    int n = llama_token_to_piece(vocab_, t, out.data(), static_cast<int32_t>(out.size()), 0, true);
    if (n < 0) {
      out.resize(static_cast<std::size_t>(-n));
      n = llama_token_to_piece(vocab_, t, out.data(), static_cast<int32_t>(out.size()), 0, true);
    }
    out.resize(static_cast<std::size_t>(std::max(n, 0)));
    return out;
  }

  std::string path_;
  LlamaOptions options_;
  Placement placement_;
  BatchInvariance cpu_invariance_;  // invariance.hpp: from the kernels and the weights' types
  std::unique_ptr<llama_model, ModelFree> model_;
  const llama_vocab* vocab_ = nullptr;
  std::size_t n_vocab_ = 0;
  SpecialTokens special_;
  std::vector<std::string> pieces_;
  std::vector<bool> skipped_;
};

// Two models share a vocabulary when every token id has the same text in both: the weak model's
// ids then pass straight to the strong one (Config::shared_vocabulary), with no re-tokenizing.
inline bool same_vocabulary(const LlamaModel& a, const LlamaModel& b) {
  if (a.vocab_size() != b.vocab_size()) return false;
  for (Token t = 0; t < static_cast<Token>(a.vocab_size()); ++t)
    if (a.token_text(t) != b.token_text(t)) return false;
  return true;
}

// One llama_context over a shared LlamaModel holding up to `sequences` sequences, each its own KV
// stream of options.context tokens: an Engine. The calls of its sequences that an engine loop
// gathers run as one batch: it mixes the tokens of many sequences (a seq_id each) in llama_decode
// calls of at most options.batch tokens, and each sequence gets its own rows back. A call made
// without a loop runs at once (calls from several threads one after another). In batch-invariant
// mode the context computes with the reference kernels where llama.cpp has them, and its physical
// batches stay within what the backend computes the same way (LlamaModel::invariance: the width,
// and whether sequences may share a batch), so a sequence's logits do not depend on what shared
// its batches.
class LlamaContext : public Engine {
 public:
  // ubatch > 0: tokens per physical batch of this context, taken as it is, sequences sharing
  // batches (for measuring: wsd-batch-shapes); 0: the model's LlamaOptions::ubatch.
  explicit LlamaContext(std::shared_ptr<const LlamaModel> model, std::size_t sequences = 1, int ubatch = 0)
      : model_(std::move(model)), sequences_(sequences) {
    const LlamaOptions& options = model_->options();
    const int fixed = ubatch > 0 ? ubatch : options.ubatch;
    if (sequences == 0 || sequences > 256)
      throw InputError("a llama.cpp context holds 1 to 256 sequences, not " + std::to_string(sequences));
    if (options.context <= 0 || options.batch <= 0)
      throw InputError("context and batch sizes must be positive (context " + std::to_string(options.context) +
                       ", batch " + std::to_string(options.batch) + ")");
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = static_cast<uint32_t>(options.context) * static_cast<uint32_t>(sequences);
    cp.n_batch = static_cast<uint32_t>(options.batch);
    cp.n_seq_max = static_cast<uint32_t>(sequences);
    cp.kv_unified = false;  // a KV stream per sequence: attention reads only its own cells
    const int threads = options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    cp.n_threads = threads;
    cp.n_threads_batch = threads;
    cp.swa_full = true;  // a sliding-window cache must keep every position, or rollback cannot work
    cp.no_perf = true;
    cp.offload_kqv = options.kv_offload;
    cp.op_offload = !model_->placement().devices.empty();  // a CPU run stays on the CPU in a GPU build
    if (options.batch_invariant) cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_ENABLED;
    // The physical batch: an explicit ubatch, else `batch` where the backend is invariant that wide
    // (or in fast mode), else its invariant width. Whole prompts (narrow backends): llama.cpp may
    // take `batch` tokens per physical batch, and decode() gives it a later read in llama_decode
    // calls of at most the invariant width (each one physical batch).
    const BatchInvariance invariance = model_->invariance();
    const bool narrow = options.batch_invariant && fixed <= 0 && invariance.width < options.batch;
    const bool whole_prompts = narrow && options.whole_prompts;
    const int physical = fixed > 0 ? fixed : narrow && !whole_prompts ? invariance.width : options.batch;
    cp.n_ubatch = static_cast<uint32_t>(std::min(options.batch, physical));
    if (whole_prompts) later_batch_ = static_cast<std::size_t>(invariance.width);
    // Sequences share physical batches in fast mode, in batch-invariant mode where the backend
    // computes a mix the same way, and with an explicit ubatch (taken as it is: wsd-batch-shapes).
    mixes_ = !options.batch_invariant || invariance.mixes || fixed > 0;
    ctx_.reset(llama_init_from_model(model_->handle(), cp));
    if (!ctx_)
      throw ModelError("llama.cpp could not create a context of " + std::to_string(sequences) + " x " +
                       std::to_string(options.context) + " tokens for " + model_->path() + detail::llama_said());
#ifdef LLAMA_HAS_REFERENCE_KERNELS
    // On the CPU; a GPU backend keeps to its own invariant width (devices.hpp), as without the patch.
    llama_set_reference_kernels(ctx_.get(), options.batch_invariant && model_->on_cpu());
#endif
    batch_ = llama_batch_init(options.batch, 0, 1);
  }
  ~LlamaContext() override { llama_batch_free(batch_); }

  const std::shared_ptr<const LlamaModel>& model() const { return model_; }
  std::size_t sequences() const { return sequences_; }
  // Tokens each sequence can hold.
  std::size_t sequence_capacity() const { return static_cast<std::size_t>(model_->options().context); }
  // Tokens per physical batch of a read after a sequence's start (a prompt may take more: see
  // LlamaOptions::whole_prompts).
  std::size_t physical_batch() const { return later_batch_ > 0 ? later_batch_ : static_cast<std::size_t>(llama_n_ubatch(ctx_.get())); }
  // Whether the calls of several sequences share physical batches.
  bool mixes_sequences() const { return mixes_; }
  llama_context* handle() { return ctx_.get(); }

  // One sequence's call: drop its cache from `keep` on, then append tokens at `keep` and return
  // the rows asked for (pointing into llama.cpp's output when they are there, else into `copy`).
  struct Call : EngineCall {
    llama_seq_id seq = 0;
    std::size_t keep = 0;  // tokens of the sequence that stay cached
    std::size_t held = 0;  // tokens its cache holds now
    std::span<const Token> tokens;
    std::span<const std::size_t> rows;
    std::vector<float>* copy = nullptr;
    LogitsBlock out;
  };

 private:
  struct ContextFree { void operator()(llama_context* c) const { llama_free(c); } };

  void run(std::span<EngineCall* const> requests) override {
    std::vector<Call*> calls;
    calls.reserve(requests.size());
    for (auto* r : requests) calls.push_back(static_cast<Call*>(r));
    // llama.cpp splits a batch over several KV streams into physical batches of sequences with
    // consecutive ids only (llama_batch_allocr::split_equal): in id order, neighbours share them.
    std::sort(calls.begin(), calls.end(), [](const Call* a, const Call* b) { return a->seq < b->seq; });
    // Where mixing is not invariant, batch-invariant mode keeps each sequence in physical batches of
    // its own: in a batch mixing sequences llama.cpp attends over as many KV cells as the longest
    // of them holds (n_kv is the maximum over the batch's streams), and with the stock kernels a
    // conversation's records then changed with what shared its batches (measured: 1 of 8 prompts
    // at draft 128 / total 256 with 2 or 4 in flight). The reference kernels skip masked cells.
    if (!mixes_ && calls.size() > 1) return decode_each(calls);
    try {
      decode(calls);
    } catch (const Error&) {
      if (calls.size() == 1) throw;
      decode_each(calls);  // one call's failure must not fail the others: each again, alone
    }
  }

  // Each call in llama_decode calls of its own; a call that fails records its error.
  void decode_each(const std::vector<Call*>& calls) {
    for (Call* c : calls) {
      c->error = nullptr;
      try {
        decode({c});
      } catch (...) {
        c->error = std::current_exception();
      }
    }
  }

  // Decodes the calls' tokens in order, in llama_decode calls of at most `batch` tokens; on a
  // failure every call's cache is rolled back to where the call found it.
  void decode(const std::vector<Call*>& calls) {
    llama_memory_t memory = llama_get_memory(ctx_.get());
    for (Call* c : calls)
      if (c->held > c->keep && !llama_memory_seq_rm(memory, c->seq, static_cast<llama_pos>(c->keep), -1))
        throw ModelError(model_->path() + ": llama.cpp could not roll its cache back to " + std::to_string(c->keep) + " tokens");
    const std::size_t n_vocab = model_->vocab_size();
    // Tokens per llama_decode call. With whole prompts (batch-invariant mode: one call here), a read
    // from the sequence's start goes in calls of `batch`, a later one in calls of the invariant size.
    const std::size_t batch = later_batch_ > 0 && !calls.empty() && calls.front()->keep > 0 ? later_batch_
                                                                          : static_cast<std::size_t>(model_->options().batch);
    // llama.cpp's own output stays valid until the context decodes again; with other sequences in
    // it that may happen before a sequence's next call, so their rows are copied.
    const bool shared = sequences_ > 1;
    for (Call* c : calls) {
      c->out = {nullptr, 0, n_vocab};
      c->copy->clear();  // a retry starts afresh
    }
    try {
      std::size_t ci = 0, ti = 0;  // the next token: call ci, its token ti
      std::vector<std::size_t> next_row(calls.size(), 0);
      while (ci < calls.size()) {
        // One llama_decode call: the next `batch` tokens, which calls they belong to noted.
        struct Span { std::size_t call, first_output, outputs; };
        std::vector<Span> spans;
        std::size_t n = 0, outputs = 0;
        for (; ci < calls.size() && n < batch; ti = 0, ++ci) {
          Call& c = *calls[ci];
          Span span{ci, outputs, 0};
          for (; ti < c.tokens.size() && n < batch; ++ti, ++n) {
            batch_.token[n] = c.tokens[ti];
            batch_.pos[n] = static_cast<llama_pos>(c.keep + ti);
            batch_.n_seq_id[n] = 1;
            batch_.seq_id[n][0] = c.seq;
            const bool wanted = next_row[ci] < c.rows.size() && c.rows[next_row[ci]] == ti;
            batch_.logits[n] = wanted;
            if (wanted) ++next_row[ci], ++span.outputs, ++outputs;
          }
          spans.push_back(span);
          if (ti < c.tokens.size()) break;  // the call goes on in the next llama_decode call
        }
        batch_.n_tokens = static_cast<int32_t>(n);
        if (n == 0) break;
        if (const int rc = llama_decode(ctx_.get(), batch_); rc != 0)
          throw ModelError(model_->path() + ": llama_decode failed with code " + std::to_string(rc) + detail::llama_said());
        const bool direct = !shared && ci >= calls.size();  // no llama_decode call after this one
        const float* data = outputs > 0 ? llama_get_logits(ctx_.get()) : nullptr;
        for (const Span& s : spans) {
          if (s.outputs == 0) continue;
          Call& c = *calls[s.call];
          const float* rows = data + s.first_output * n_vocab;
          if (direct && s.outputs == c.rows.size()) {  // all its rows came from this llama_decode call
            c.out = {rows, c.rows.size(), n_vocab};
          } else {
            c.copy->insert(c.copy->end(), rows, rows + s.outputs * n_vocab);
            c.out = {c.copy->data(), c.rows.size(), n_vocab};
          }
        }
      }
    } catch (...) {
      for (Call* c : calls) llama_memory_seq_rm(memory, c->seq, static_cast<llama_pos>(c->keep), -1);
      throw;
    }
    for (Call* c : calls) c->held = c->keep + c->tokens.size();
  }

  std::shared_ptr<const LlamaModel> model_;
  std::size_t sequences_;
  std::size_t later_batch_ = 0;  // whole prompts: tokens per llama_decode call after a sequence's start (0: off)
  bool mixes_ = true;            // sequences share physical batches
  std::unique_ptr<llama_context, ContextFree> ctx_;
  llama_batch batch_{};
};

// One sequence: its own KV cache in a LlamaContext, append and rollback (a LogitsProvider and a
// ChatProvider; the vocabulary and template are the model's). LlamaSequence(model) has a context
// of its own; LlamaSequence(context, i) is sequence i of a shared one (one per conversation in flight).
class LlamaSequence {
 public:
  explicit LlamaSequence(std::shared_ptr<const LlamaModel> model)
      : LlamaSequence(std::make_shared<LlamaContext>(std::move(model)), 0) {}
  LlamaSequence(std::shared_ptr<LlamaContext> context, std::size_t index) : context_(std::move(context)), model_(context_->model()) {
    if (index >= context_->sequences())
      throw InputError("sequence " + std::to_string(index) + " of a context of " + std::to_string(context_->sequences()) +
                       " sequences");
    seq_ = static_cast<llama_seq_id>(index);
  }
  LlamaSequence(const LlamaSequence&) = delete;
  LlamaSequence& operator=(const LlamaSequence&) = delete;

  // The vocabulary and template: the model's.
  std::size_t vocab_size() const { return model_->vocab_size(); }
  const SpecialTokens& special_tokens() const { return model_->special_tokens(); }
  std::vector<Token> tokenize(std::string_view text) const { return model_->tokenize(text); }
  const std::string& token_text(Token t) const { return model_->token_text(t); }
  std::string detokenize(std::span<const Token> tokens) const { return model_->detokenize(tokens); }
  std::string apply_chat_template(const Conversation& c) const { return model_->apply_chat_template(c); }
  std::string metadata(const std::string& key) const { return model_->metadata(key); }
  const std::string& path() const { return model_->path(); }
  const std::shared_ptr<const LlamaModel>& model() const { return model_; }

  std::size_t length() const { return length_; }
  std::size_t context_size() const { return context_->sequence_capacity(); }
  // For the trace: where the model runs ("CPU", or its GPUs), its kernels, and how exact mode
  // batches it (tokens per physical batch after a prompt; whether sequences share one).
  void describe(Settings& out) const {
    out.push_back({"device", model_->placement().label()});
    out.push_back({"kernels", model_->kernels()});
    out.push_back({"physical_batch", static_cast<std::int64_t>(context_->physical_batch())});
    out.push_back({"sequences_share_batches", context_->mixes_sequences()});
  }

  // Appends tokens to the KV cache and returns the logits of the rows asked for (ascending indices
  // into tokens), awaited: co_await append(...) joins its context's next batch when an engine loop
  // runs the awaiting coroutine, and runs at once otherwise (run_now(seq.append(...)) blocking).
  // Everything is checked before llama.cpp sees it; a failing call leaves the cache where it was.
  auto append(std::span<const Token> tokens, std::span<const std::size_t> rows) {
    const bool nothing = tokens.empty();
    return posted(context_, prepare(tokens, rows),
                  [this](LlamaContext::Call& call) -> LogitsBlock {
                    if (call.tokens.empty()) return {nullptr, 0, vocab_size()};
                    return finish(call);
                  },
                  nothing);
  }

  // Shortens the sequence to n tokens (the cache drops the rest with the next append).
  void rollback(std::size_t n) { length_ = std::min(length_, n); }

  // The raw context and sequence id, for measuring llama.cpp without this provider in between
  // (a context of its own only; call rollback(0) and append first so the cache is in step).
  llama_context* context() { return context_->handle(); }
  llama_seq_id seq_id() const { return seq_; }

 private:
  // The call for an append, checked.
  LlamaContext::Call prepare(std::span<const Token> tokens, std::span<const std::size_t> rows) {
    if (length_ + tokens.size() > context_size())
      throw ContextOverflowError(path() + ": " + std::to_string(length_ + tokens.size()) +
                                 " tokens do not fit its context window of " + std::to_string(context_size()) +
                                 " tokens (shorten the conversation, lower the token limits or raise the context)");
    for (Token t : tokens) model_->check_token(t);
    for (std::size_t r = 0; r < rows.size(); ++r)
      if (rows[r] >= tokens.size() || (r > 0 && rows[r] <= rows[r - 1]))
        throw ProviderError(path() + ": append: rows must be ascending indices into the " +
                            std::to_string(tokens.size()) + " tokens appended");
    LlamaContext::Call call;
    call.seq = seq_;
    call.keep = length_;
    call.held = held_;
    call.tokens = tokens;
    call.rows = rows;
    call.copy = &logits_;
    return call;
  }

  // The sequence after its call ran: longer by the tokens, or where it was if the call failed.
  LogitsBlock finish(LlamaContext::Call& call) {
    if (call.error) {
      held_ = std::min(held_, call.keep);
      std::rethrow_exception(call.error);
    }
    held_ = call.held;
    length_ += call.tokens.size();
    return call.out;
  }

  std::shared_ptr<LlamaContext> context_;
  std::shared_ptr<const LlamaModel> model_;
  llama_seq_id seq_ = 0;
  std::size_t length_ = 0;  // tokens of the sequence (which ones: its user's history, e.g. FullRowScorer's)
  std::size_t held_ = 0;    // tokens the KV cache holds (rollback is applied lazily)
  std::vector<float> logits_;
};

// A model with one sequence, loaded from a GGUF file: the one-conversation use, as simple as that.
// Several sequences of one model: LlamaSequence(provider.model()), or share a LlamaModel directly.
class LlamaProvider : public LlamaSequence {
 public:
  explicit LlamaProvider(const std::string& path, LlamaOptions options = {})
      : LlamaSequence(std::make_shared<const LlamaModel>(path, options)) {}
};

static_assert(Vocabulary<LlamaModel>);
static_assert(ChatProvider<LlamaSequence>);
static_assert(ChatProvider<LlamaProvider>);

}  // namespace wsd
