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
