// Plugging your own model into wsd: a provider is any class with these eight members, and the
// decoder is the three policies over it, composed at compile time. Needs the standard library only.
#include <wsd/core.hpp>

#include <iostream>

// A character-level "model" whose next-character preferences are fixed; `lean` makes the two
// sides disagree a little. Replace the logits with your network's output.
class CharModel {
 public:
  explicit CharModel(float lean) : lean_(lean) {}

  std::size_t vocab_size() const { return 128; }  // token = ASCII code; 0 is BOS, 4 is EOS
  wsd::SpecialTokens special_tokens() const { return {0, {4}}; }
  std::vector<wsd::Token> tokenize(std::string_view text) const { return {text.begin(), text.end()}; }
  std::string token_text(wsd::Token t) const { return std::string(1, static_cast<char>(t)); }
  std::string detokenize(std::span<const wsd::Token> ts) const {
    std::string s;
    for (auto t : ts) if (t > 4) s += static_cast<char>(t);
    return s;
  }
  std::size_t length() const { return context_.size(); }
  void rollback(std::size_t n) { context_.resize(std::min(n, context_.size())); }

  // Append tokens to the context; return logits for the rows (indices into tokens) asked for.
  wsd::LogitsBlock append(std::span<const wsd::Token> tokens, std::span<const std::size_t> rows) {
    logits_.assign(rows.size() * 128, -10.0f);
    std::size_t r = 0;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      context_.push_back(tokens[i]);
      if (r < rows.size() && rows[r] == i) predict(&logits_[128 * r++]);
    }
    return {logits_.data(), rows.size(), 128};
  }

  std::string apply_chat_template(const wsd::Conversation& c) const { return "Q: " + c.messages.back().content + "\nA: "; }

 private:
  // Prefers the character that follows the last one in a fixed sentence; ends after a while.
  void predict(float* row) const {
    const std::string sentence = "Hi you. ";  // distinct characters: each has one successor
    const auto at = sentence.find(static_cast<char>(context_.back()));
    const char next = sentence[at == std::string::npos ? 0 : (at + 1) % sentence.size()];
    row[static_cast<unsigned char>(next)] = 5.0f + lean_;
    row[static_cast<unsigned char>(sentence[(at + 2) % sentence.size()])] = 4.0f;
    row[4] = context_.size() > 60 ? 20.0f : -5.0f;
  }
  float lean_;
  std::vector<wsd::Token> context_;
  std::vector<float> logits_;
};

int main() {
  CharModel weak(0.5f), strong(2.0f);
  // WeakToStrongDecoder<WeakDrafter<CharModel>, StrongModel<FullRowScorer<CharModel>>, WindowMeanSwitch>:
  wsd::WeakToStrongDecoder decoder{wsd::WeakDrafter(weak),                       // its chat template, greedy
                                   wsd::StrongModel(wsd::FullRowScorer(strong)),  // the reference's plain blocks, greedy
                                   wsd::WindowMeanSwitch(0.8, 6),                 // tau, w: the paper's rule
                                   wsd::Limits{.max_tokens = 80}};
  const wsd::Result r = decoder.decode({"hello", {{"user", "Say hello."}}});
  std::cout << "kept " << r.accept_index + 1 << " drafted tokens (" << wsd::to_string(r.reason) << ")\n"
            << "answer: " << r.text << "\n";
}
