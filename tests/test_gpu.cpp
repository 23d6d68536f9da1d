// The default pair with every layer of both models on a GPU (ctest label "gpu": `make test-gpu`
// runs them on llama.cpp's Vulkan backend, on Mesa's software device llvmpipe where there is no
// GPU). Few prompts and short answers: a software GPU writes a few tokens a second.
#include <catch2/catch.hpp>
#include <wsd/providers/llama/default_models.hpp>
#include <wsd/providers/llama/llama_cpp.hpp>
#include <wsd/providers/llama/llama_parallel.hpp>
#include <wsd/wsd.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

namespace {

std::string existing(const std::string& path) {
  if (!std::filesystem::exists(path)) FAIL("model " << path << " is missing: run `make models`");
  return path;
}

std::vector<wsd::Conversation> prompts() {
  return {{"capital", {{"user", "What is the capital of France?"}}},
          {"colours", {{"user", "Name two colours."}}},
          {"zero", {{"user", "Say the number 0."}}}};
}

wsd::Config config() {
  wsd::Config c;
  c.draft_max_tokens = 10;
  c.max_tokens = 14;
  c.switch_args["threshold"] = 0.5;  // a switch inside the short draft on some of the prompts
  c.switch_args["window"] = 2;
  return c;
}

struct Pair {
  std::shared_ptr<const wsd::LlamaModel> weak, strong;
};

Pair load(int gpu_layers) {
  wsd::LlamaOptions o;
  o.context = 256;
  o.gpu_layers = gpu_layers;
  return {std::make_shared<const wsd::LlamaModel>(existing(wsd::default_weak_model()), o),
          std::make_shared<const wsd::LlamaModel>(existing(wsd::default_strong_model()), o)};
}

const Pair& on_gpu() {
  static const Pair p = load(wsd::kAllLayersWhereGpu);
  return p;
}

nlohmann::json untimed(const wsd::Result& r) {
  nlohmann::json j = wsd::to_json(r);
  j.erase("timing");
  return j;
}

// Each conversation's record with n in flight (batch-invariant kernels).
std::map<std::string, nlohmann::json> in_flight(const Pair& p, std::size_t n, wsd::Mode mode) {
  wsd::LlamaPairSequences sequences(p.weak, p.strong, n);
  wsd::Config cfg = config();
  cfg.mode = mode;
  auto decoders = sequences.decoders(cfg);
  const auto set = prompts();
  std::map<std::string, nlohmann::json> out;
  wsd::decode_parallel(std::span(decoders), std::span(set), [&](wsd::Outcome o) {
    REQUIRE(o.result);
    out[set[o.index].id] = untimed(*o.result);
  });
  return out;
}

}  // namespace

TEST_CASE("every layer of both models is on the GPU, and the trace names the device", "[gpu]") {
  const Pair& p = on_gpu();
  for (const auto* m : {p.weak.get(), p.strong.get()}) {
    INFO(m->path() << ": " << m->placement().label());
    REQUIRE_FALSE(m->placement().devices.empty());
    CHECK(m->placement().gpu_layers == -1);
    CHECK_THAT(m->placement().label(), Catch::EndsWith("(all layers)"));
  }
  wsd::LlamaSequence weak(p.weak), strong(p.strong);
  auto decoder = wsd::make_decoder(weak, strong, config());
  const wsd::Result r = decoder.decode(prompts()[0]);
  CHECK_FALSE(r.text.empty());
  const nlohmann::json c = wsd::to_json(r)["config"];
  CHECK(c["weak_model"]["device"] == p.weak->placement().label());
  CHECK(c["strong_model"]["device"] == p.strong->placement().label());
  std::printf("gpu: the pair runs on %s\n", p.strong->placement().label().c_str());
}

TEST_CASE("on the GPU, online equals offline token for token", "[gpu]") {
  const Pair& p = on_gpu();
  wsd::LlamaSequence weak(p.weak), strong(p.strong);
  auto decoder = wsd::make_decoder(weak, strong, config());
  int switched = 0;
  for (const auto& c : prompts()) {
    INFO("conversation " << c.id);
    const auto offline = decoder.decode_offline(c);
    const auto online = decoder.decode_online(c);
    REQUIRE(online.accept_index == offline.accept_index);
    CHECK(online.reason == offline.reason);
    CHECK(online.text == offline.text);
    CHECK(online.continuation_tokens == offline.continuation_tokens);
    const auto kept = static_cast<std::size_t>(offline.accept_index + 1);
    REQUIRE(online.probs.size() == kept);
    CHECK(std::equal(online.probs.begin(), online.probs.end(), offline.probs.begin()));  // bit for bit
    CHECK_FALSE(offline.text.empty());
    switched += offline.reason == wsd::DraftEnd::switched;
  }
  CHECK(switched > 0);
}

TEST_CASE("on the GPU, the records of 3 conversations in flight equal one at a time", "[gpu][parallel]") {
  const auto one = in_flight(on_gpu(), 1, wsd::Mode::online);
  const auto three = in_flight(on_gpu(), 3, wsd::Mode::online);
  for (const auto& c : prompts()) {
    INFO("conversation " << c.id);
    CHECK(three.at(c.id) == one.at(c.id));
  }
}

TEST_CASE("greedy answers on the GPU against the CPU backend's: the same texts, and how far the p_k are apart",
          "[gpu][cpu]") {
  const Pair cpu = load(0);
  REQUIRE(cpu.strong->placement().devices.empty());
  wsd::LlamaSequence gw(on_gpu().weak), gs(on_gpu().strong), cw(cpu.weak), cs(cpu.strong);
  auto gpu_decoder = wsd::make_decoder(gw, gs, config());
  auto cpu_decoder = wsd::make_decoder(cw, cs, config());
  double largest = 0.0;
  for (const auto& c : prompts()) {
    INFO("conversation " << c.id);
    const auto g = gpu_decoder.decode(c);
    const auto k = cpu_decoder.decode(c);
    CHECK(g.text == k.text);
    CHECK(g.accept_index == k.accept_index);
    for (std::size_t i = 0; i < std::min(g.probs.size(), k.probs.size()); ++i)
      largest = std::max(largest, std::fabs(g.probs[i] - k.probs[i]));
  }
  std::printf("gpu: largest |p_k(GPU) - p_k(CPU)| over the drafted tokens: %.3g\n", largest);
  CHECK(largest < 0.05);  // the same tokens: only rounding apart
}
