// Model files the llama.cpp provider must refuse with a ModelError naming the file, without
// needing the real models: a missing file, a folder, a file that is not GGUF, truncated GGUF.
#include <catch2/catch.hpp>
#include <wsd/providers/llama/llama_cpp.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>

namespace {

std::string scratch(const std::string& name, const std::string& bytes) {
  const auto dir = std::filesystem::temp_directory_path() / "wsd-llama-errors";
  std::filesystem::create_directories(dir);
  const auto path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

template <class T>
std::string le(T v) {
  std::string s(sizeof v, '\0');
  for (std::size_t i = 0; i < sizeof v; ++i) s[i] = static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xff);
  return s;
}

}  // namespace

TEST_CASE("a missing model file is a ModelError naming the path", "[llama][errors]") {
  const std::string path = "/nonexistent/wsd/model.gguf";
  CHECK_THROWS_AS(wsd::LlamaProvider(path), wsd::ModelError);
  CHECK_THROWS_WITH(wsd::LlamaProvider(path), Catch::Contains(path) && Catch::Contains("does not exist"));
}

TEST_CASE("a folder given as the model is a ModelError", "[llama][errors]") {
  const auto dir = std::filesystem::temp_directory_path().string();
  CHECK_THROWS_WITH(wsd::LlamaProvider(dir), Catch::Contains("is not a regular file"));
}

TEST_CASE("a file that is not GGUF is refused before llama.cpp reads it", "[llama][errors]") {
  const auto text = scratch("notes.gguf", "just some text, not a model\n");
  CHECK_THROWS_AS(wsd::LlamaProvider(text), wsd::ModelError);
  CHECK_THROWS_WITH(wsd::LlamaProvider(text), Catch::Contains(text) && Catch::Contains("not a GGUF file"));
  const auto empty = scratch("empty.gguf", "");
  CHECK_THROWS_WITH(wsd::LlamaProvider(empty), Catch::Contains("not a GGUF file"));
}

TEST_CASE("a truncated GGUF file is a ModelError, not a crash", "[llama][errors]") {
  // A GGUF v3 header that promises 1 tensor and 2 metadata entries, cut off inside the first key.
  const std::string header = std::string("GGUF") + le<std::uint32_t>(3) + le<std::uint64_t>(1) + le<std::uint64_t>(2) +
                             le<std::uint64_t>(20) + "general.archi";
  for (std::size_t cut : {std::size_t{4}, std::size_t{8}, std::size_t{16}, header.size()}) {
    const auto path = scratch("cut-" + std::to_string(cut) + ".gguf", header.substr(0, cut));
    CAPTURE(cut);
    CHECK_THROWS_AS(wsd::LlamaProvider(path), wsd::ModelError);
    CHECK_THROWS_WITH(wsd::LlamaProvider(path), Catch::Contains(path) && Catch::Contains("could not be loaded"));
  }
}

TEST_CASE("this CPU runs the llama.cpp build, and the AMX probe answers from a child process", "[llama][cpu]") {
  CHECK_NOTHROW(wsd::check_llama_cpu());  // the build's instruction sets are all present here
  const bool works = wsd::amx_works();    // a fault would kill only the probe's child
  CHECK(works == wsd::amx_works());       // cached
  __builtin_cpu_init();
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  __asm__ volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(7), "c"(0));
  if (!(edx & (1u << 24))) CHECK_FALSE(works);  // no AMX advertised: never used
  if (!ggml_cpu_has_amx_int8()) CHECK_FALSE(wsd::llama_amx_usable());  // no AMX kernels built in
}

namespace {

// A GGUF holding only a tensor table: one 2-D weight of `type` and a 1-D F32 norm.
std::string gguf_with(ggml_type type, const std::string& name) {
  ggml_init_params ip{};
  ip.mem_size = 1 << 20;
  ip.no_alloc = false;
  ggml_context* ctx = ggml_init(ip);
  ggml_tensor* weight = ggml_new_tensor_2d(ctx, type, 64, 4);
  ggml_set_name(weight, "blk.0.attn_q.weight");
  ggml_tensor* norm = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 64);
  ggml_set_name(norm, "blk.0.attn_norm.weight");
  gguf_context* g = gguf_init_empty();
  gguf_set_val_str(g, "general.architecture", "llama");
  gguf_add_tensor(g, weight);
  gguf_add_tensor(g, norm);
  const auto path = (std::filesystem::temp_directory_path() / "wsd-llama-errors" / name).string();
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  const bool written = gguf_write_to_file(g, path.c_str(), false);
  gguf_free(g);
  ggml_free(ctx);
  REQUIRE(written);
  return path;
}

}  // namespace

TEST_CASE("the CPU's batch-invariant physical batch follows the kernels and the weights' types", "[llama][invariance]") {
  const wsd::BatchInvariance alone{1, false}, stock{wsd::kStockWidth, false}, every{wsd::kReferenceWidth, true};
  // The reference kernels (wsd's llama.cpp patch): measured invariant at every width to 512 and in
  // mixes of sequences for the quantised types and F16 / BF16; F32 weights were not measured.
  for (ggml_type t : {GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0, GGML_TYPE_Q8_0, GGML_TYPE_F16, GGML_TYPE_BF16}) {
    INFO(ggml_type_name(t));
    CHECK(wsd::cpu_invariance(gguf_with(t, std::string("r-") + ggml_type_name(t) + ".gguf"), true) == every);
  }
  CHECK(wsd::cpu_invariance(gguf_with(GGML_TYPE_F32, "r-f32.gguf"), true) == alone);
  // The stock kernels (a llama.cpp without the patch): quantised weights up to 7 rows, F16 and BF16
  // change path at 2 rows; sequences apart.
  for (ggml_type t : {GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0, GGML_TYPE_Q8_0}) {
    INFO(ggml_type_name(t));
    CHECK(wsd::cpu_invariance(gguf_with(t, std::string("q-") + ggml_type_name(t) + ".gguf"), false) == stock);
  }
  for (ggml_type t : {GGML_TYPE_F16, GGML_TYPE_BF16, GGML_TYPE_F32}) {
    INFO(ggml_type_name(t));
    CHECK(wsd::cpu_invariance(gguf_with(t, std::string("f-") + ggml_type_name(t) + ".gguf"), false) == alone);
  }
  CHECK(wsd::cpu_invariance("/nonexistent/wsd/model.gguf", true) == alone);
  CHECK(wsd::cpu_invariance("/nonexistent/wsd/model.gguf", false) == alone);
  // This build is wsd's patched llama.cpp (cmake/setup-llama.sh applies cmake/patches/).
  CHECK(wsd::kLlamaReferenceKernels);
}
