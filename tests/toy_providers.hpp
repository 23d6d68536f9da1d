#pragma once
// Small deterministic logits providers for the tests: a shared character "language" with
// per-model noise, over a character-level or a greedy longest-match word-level vocabulary.
#include <wsd/wsd.hpp>

#include <cmath>
#include <coroutine>
#include <cstdint>
#include <functional>
#include <memory>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace toy {

using wsd::Token;

inline std::uint64_t mix(std::uint64_t x) {  // splitmix64
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
inline double unit(std::uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }
inline double normal(std::uint64_t h) {  // Box-Muller from two hashes
  const double u1 = std::max(unit(h), 1e-12), u2 = unit(mix(h));
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// Token 0 is "<s>" (BOS), 1 is "</s>" (EOS); then characters, then (word level) longer pieces.
class Vocabulary {
 public:
  static Vocabulary characters() {
    Vocabulary v;
    v.add_chars();
    return v;
  }
  // Pieces of 2-3 characters so that a word's tokens change as the word grows.
  static Vocabulary words() {
    Vocabulary v;
    v.add_chars();
    const std::string common = "etaoinsh";
    for (char a : common)
      for (char b : common) v.add(std::string{a, b});
    for (char a : common) v.add(std::string{' ', a});
    for (char a : std::string("etao"))
      for (char b : std::string("etao")) {
        v.add(std::string{' ', a, b});
        v.add(std::string{a, b, 'e'});
      }
    v.add("[User]");
    v.add("[Assistant]");
    return v;
  }

  std::size_t size() const { return pieces_.size(); }
  const std::string& piece(Token t) const { return pieces_.at(static_cast<std::size_t>(t)); }

  // Greedy longest match; "<s>" and "</s>" in the text become the special tokens.
  std::vector<Token> tokenize(std::string_view text) const {
    std::vector<Token> out;
    std::size_t i = 0;
    while (i < text.size()) {
      std::size_t best_len = 0;
      Token best = -1;
      for (std::size_t len = std::min(longest_, text.size() - i); len > 0; --len) {
        auto it = ids_.find(std::string(text.substr(i, len)));
        if (it != ids_.end()) {
          best = it->second;
          best_len = len;
          break;
        }
      }
      if (best < 0) {  // unknown byte: map to '?'
        best = ids_.at("?");
        best_len = 1;
      }
      out.push_back(best);
      i += best_len;
    }
    return out;
  }

 private:
  void add(const std::string& s) {
    if (ids_.count(s)) return;
    ids_[s] = static_cast<Token>(pieces_.size());
    pieces_.push_back(s);
    longest_ = std::max(longest_, s.size());
  }
  void add_chars() {
    add("<s>");
    add("</s>");
    add("\n");
    for (char c = 32; c < 127; ++c) add(std::string(1, c));
  }
  std::vector<std::string> pieces_;
  std::map<std::string, Token, std::less<>> ids_;
  std::size_t longest_ = 0;
};

// Knobs of a toy model: how peaked its distributions are and how much it follows the shared language.
struct ModelShape {
  std::uint64_t seed = 1;
  double language = 4.0;  // weight of the shared character bigram "language"
  double noise = 1.0;     // weight of this model's own history-dependent noise
  double eos = -2.0;      // bias of the EOS token
};

// A deterministic model: logits are a pure function of the whole prefix, so a wrong cache state
// (a bad rollback) gives different numbers. Records the calls it gets.
class ToyProvider {
 public:
  ToyProvider(Vocabulary vocab, ModelShape shape) : vocab_(std::move(vocab)), shape_(shape) {
    special_.bos = 0;
    special_.end_of_generation = {1};
  }

  std::size_t vocab_size() const { return vocab_.size(); }
  const wsd::SpecialTokens& special_tokens() const { return special_; }
  std::vector<Token> tokenize(std::string_view text) const { return vocab_.tokenize(text); }
  const std::string& token_text(Token t) const { return vocab_.piece(t); }
  std::string detokenize(std::span<const Token> tokens) const {
    std::string out;
    for (Token t : tokens)
      if (t > 1) out += vocab_.piece(t);
    return out;
  }
  std::size_t length() const { return tokens_.size(); }
  std::span<const Token> state() const { return tokens_; }

  wsd::LogitsBlock append(std::span<const Token> tokens, std::span<const std::size_t> rows) {
    ++append_calls;
    logits_.assign(rows.size() * vocab_.size(), 0.0f);
    std::size_t r = 0;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (tokens[i] < 0 || static_cast<std::size_t>(tokens[i]) >= vocab_.size())
        throw wsd::ProviderError("toy provider: token id " + std::to_string(tokens[i]) + " out of range");
      tokens_.push_back(tokens[i]);
      hashes_.push_back(mix((hashes_.empty() ? shape_.seed : hashes_.back()) ^ static_cast<std::uint64_t>(tokens[i])));
      if (r < rows.size() && rows[r] == i) fill(logits_.data() + (r++) * vocab_.size());
    }
    tokens_appended += tokens.size();
    return {logits_.data(), rows.size(), vocab_.size()};
  }

  void rollback(std::size_t n) {
    if (n < tokens_.size()) {
      tokens_.resize(n);
      hashes_.resize(n);
    }
  }

  // "role: content\n" per message, then "assistant: ": a chat template made of plain characters.
  std::string apply_chat_template(const wsd::Conversation& c) const {
    std::string out;
    for (const auto& m : c.messages) out += m.role + ": " + m.content + "\n";
    return out + "assistant: ";
  }

  std::size_t append_calls = 0;
  std::size_t tokens_appended = 0;

 private:
  // Logits after the current prefix: shared language on the last character, plus own noise.
  void fill(float* row) const {
    const std::string& last = vocab_.piece(tokens_.back());
    const auto prev = static_cast<unsigned char>(last.empty() ? ' ' : last.back());
    for (std::size_t v = 0; v < vocab_.size(); ++v) {
      const std::string& p = vocab_.piece(static_cast<Token>(v));
      double x;
      if (v == 0) {
        x = -30.0;
      } else if (v == 1) {
        x = shape_.eos;
      } else {
        const auto first = static_cast<unsigned char>(p[0]);
        x = shape_.language * normal(mix(prev * 131u + first)) + 0.5 * static_cast<double>(p.size() - 1);
      }
      x += shape_.noise * normal(mix(hashes_.back() ^ (v * 0x9E37u)));
      row[v] = static_cast<float>(x);
    }
  }

  Vocabulary vocab_;
  ModelShape shape_;
  wsd::SpecialTokens special_;
  std::vector<Token> tokens_;
  std::vector<std::uint64_t> hashes_;
  std::vector<float> logits_;
};

static_assert(wsd::ChatProvider<ToyProvider>);

}  // namespace toy

namespace toy {

// The strong side as a serving engine sees it: only the scoring contract (log p of given targets,
// writing with its own sampler), no logits rows, and no state kept between calls: every call
// reads its whole context again, as a stateless HTTP engine would.
class ToyScorer {
 public:
  ToyScorer(Vocabulary vocab, ModelShape shape, wsd::SamplingParams sampling = {})
      : model_(std::move(vocab), shape), sampler_(sampling) {}

  std::size_t vocab_size() const { return model_.vocab_size(); }
  const wsd::SpecialTokens& special_tokens() const { return model_.special_tokens(); }
  std::vector<Token> tokenize(std::string_view text) const { return model_.tokenize(text); }
  const std::string& token_text(Token t) const { return model_.token_text(t); }
  std::string detokenize(std::span<const Token> tokens) const { return model_.detokenize(tokens); }

  void reset() { sampler_.reset(); }

  // Stateless, as a server: nothing to score is no request (a read of the prompt alone keeps nothing).
  std::vector<double> score(std::span<const Token> context, std::span<const Token> targets) {
    if (targets.empty()) return {};
    ++score_calls;
    std::vector<Token> all(context.begin(), context.end());
    all.insert(all.end(), targets.begin(), targets.end());
    std::vector<std::size_t> rows;
    for (std::size_t i = context.size() - 1; i + 1 < all.size(); ++i) rows.push_back(i);
    model_.rollback(0);
    const wsd::LogitsBlock block = model_.append(all, rows);
    std::vector<double> out;
    for (std::size_t i = 0; i < targets.size(); ++i)
      out.push_back(wsd::log_token_probability(block.row(i), block.vocab, targets[i]));
    return out;
  }

  void set_sampling(const wsd::SamplingParams& params) { sampler_ = wsd::Sampler(params); }

  wsd::WriteEnd write(std::span<const Token> context, std::size_t max_tokens, const wsd::TokenCallback& on_token) {
    std::vector<Token> all(context.begin(), context.end());
    for (std::size_t written = 0; written < max_tokens; ++written) {
      model_.rollback(0);
      const std::size_t last = all.size() - 1;
      const wsd::LogitsBlock block = model_.append(all, std::span<const std::size_t>(&last, 1));
      const Token t = sampler_.sample(block.row(0), block.vocab);
      if (model_.special_tokens().ends_generation(t)) return wsd::WriteEnd::eos;  // an engine stops by itself
      if (!on_token(t)) return wsd::WriteEnd::callback;
      all.push_back(t);
    }
    return wsd::WriteEnd::length;
  }

  std::size_t score_calls = 0;

 private:
  ToyProvider model_;
  wsd::Sampler sampler_;
};

static_assert(wsd::ScoringSequence<ToyScorer>);
static_assert(!wsd::LogitsProvider<ToyScorer>);

}  // namespace toy

namespace toy {

// Toy models behind one engine (wsd::Engine) whose calls an engine loop batches: a batch runs
// every call given, in an order shuffled by a seed (results must not depend on it), and the engine
// records how many calls its batches merged. Each sequence holds at most `capacity` tokens; a call
// fails when fail(call number) says so (numbered from 1 over the engine's calls).
class ToyBatchedModel : public wsd::Engine {
  struct Call : wsd::EngineCall {
    std::size_t seq = 0;
    std::span<const Token> tokens;
    std::span<const std::size_t> rows;
    wsd::LogitsBlock out;
  };

 public:
  ToyBatchedModel(const Vocabulary& vocab, ModelShape shape, std::size_t sequences,
                  std::size_t capacity = std::size_t(-1), std::uint64_t order_seed = 7)
      : capacity_(capacity), order_(order_seed) {
    for (std::size_t i = 0; i < sequences; ++i) models_.emplace_back(vocab, shape);
  }

  // One sequence of the engine: a ChatProvider whose appends join the engine's batches.
  class Sequence {
   public:
    Sequence(std::shared_ptr<ToyBatchedModel> engine, std::size_t index) : engine_(std::move(engine)), index_(index) {}
    ToyProvider& model() const { return engine_->models_[index_]; }
    std::size_t vocab_size() const { return model().vocab_size(); }
    const wsd::SpecialTokens& special_tokens() const { return model().special_tokens(); }
    std::vector<Token> tokenize(std::string_view text) const { return model().tokenize(text); }
    const std::string& token_text(Token t) const { return model().token_text(t); }
    std::string detokenize(std::span<const Token> tokens) const { return model().detokenize(tokens); }
    std::string apply_chat_template(const wsd::Conversation& c) const { return model().apply_chat_template(c); }
    std::size_t length() const { return model().length(); }
    void rollback(std::size_t n) { model().rollback(n); }
    // Awaited: joins the engine's next batch in a loop, runs at once otherwise.
    auto append(std::span<const Token> tokens, std::span<const std::size_t> rows) {
      return wsd::posted(engine_, prepare(tokens, rows), [](Call& call) {
        if (call.error) std::rethrow_exception(call.error);
        return call.out;
      });
    }

   private:
    Call prepare(std::span<const Token> tokens, std::span<const std::size_t> rows) const {
      if (length() + tokens.size() > engine_->capacity_)
        throw wsd::ContextOverflowError("toy: " + std::to_string(length() + tokens.size()) +
                                        " tokens do not fit its context of " + std::to_string(engine_->capacity_));
      Call call;
      call.seq = index_;
      call.tokens = tokens;
      call.rows = rows;
      return call;
    }
    std::shared_ptr<ToyBatchedModel> engine_;
    std::size_t index_;
  };

  static Sequence sequence(const std::shared_ptr<ToyBatchedModel>& engine, std::size_t i) { return Sequence(engine, i); }
  std::size_t widest = 0;   // most calls in one batch
  std::size_t batches = 0;
  std::size_t calls = 0;
  std::function<bool(std::size_t)> fail;  // fail(n): the n-th call fails

 private:
  void run(std::span<wsd::EngineCall* const> requests) override {
    ++batches;
    widest = std::max(widest, requests.size());
    std::vector<Call*> batch;
    for (auto* r : requests) batch.push_back(static_cast<Call*>(r));
    for (std::size_t i = batch.size(); i > 1; --i) std::swap(batch[i - 1], batch[order_() % i]);
    for (Call* c : batch) {  // a block per sequence
      ++calls;
      if (fail && fail(calls)) {
        c->error = std::make_exception_ptr(wsd::ProviderError("toy: call " + std::to_string(calls) + " failed"));
        continue;
      }
      c->out = models_[c->seq].append(c->tokens, c->rows);
    }
  }

  std::deque<ToyProvider> models_;
  std::size_t capacity_;
  std::mt19937_64 order_;
};

static_assert(wsd::ChatProvider<ToyBatchedModel::Sequence>);
static_assert(wsd::LogitsProvider<ToyBatchedModel::Sequence>);

}  // namespace toy
