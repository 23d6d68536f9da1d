// The shortest complete program: a small aligned model drafts, a base model takes over.
#include <wsd/providers/llama/default_models.hpp>
#include <wsd/providers/llama/llama_cpp.hpp>
#include <wsd/tools/exit_codes.hpp>
#include <wsd/wsd.hpp>

#include <iostream>

int main() {
  try {
    wsd::LlamaProvider weak(wsd::default_weak_model());      // SmolLM2-135M-Instruct
    wsd::LlamaProvider strong(wsd::default_strong_model());  // Gemma-3-270M, pre-trained
    wsd::Config config;                                      // tau 0.8, w 6: the paper's defaults
    config.max_tokens = 120;
    auto decoder = wsd::make_decoder(weak, strong, config);
    wsd::Result r = decoder.decode({"bread", {{"user", "How do I make bread?"}}});
    std::cout << r.text << "\n(the strong model took over after " << r.accept_index + 1 << " drafted tokens)\n";
    return 0;
  } catch (...) {  // a missing model file, a bad provider: one line naming it
    return wsd::tools::report_error("hello");
  }
}
