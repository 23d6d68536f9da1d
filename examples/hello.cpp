// The shortest complete program: a small aligned model drafts, a base model takes over.
#include <wsd/providers/llama/default_models.hpp>
#include <wsd/providers/llama/llama_cpp.hpp>
#include <wsd/core.hpp>

#include <iostream>

int main() {
  try {
    wsd::LlamaProvider weak(wsd::default_weak_model());      // SmolLM2-135M-Instruct
    wsd::LlamaProvider strong(wsd::default_strong_model());  // Gemma-3-270M, pre-trained
    wsd::WeakToStrongDecoder decoder{wsd::WeakDrafter(weak),                       // its chat template, greedy
                                     wsd::StrongModel(wsd::FullRowScorer(strong)),  // the reference's plain blocks
                                     wsd::WindowMeanSwitch(0.8, 6),                 // tau, w: the paper's rule
                                     wsd::Limits{.max_tokens = 120}};
    wsd::Result r = decoder.decode({"bread", {{"user", "How do I make bread?"}}});
    std::cout << r.text << "\n(the strong model took over after " << r.accept_index + 1 << " drafted tokens)\n";
    return 0;
  } catch (const wsd::Error& e) {  // a missing model file, a bad provider: one line naming it
    std::cerr << "hello: " << e.what() << "\n";
    return 1;
  }
}
