// The library's default pair (include/wsd/providers/llama/default_models.hpp) is the pair
// cmake/fetch-models.sh fetches: the names and WSD_HOME's default as cmake/wsd-home.sh writes them
// (cmake/wsd-home.cmake reads that file and passes them here).
#include <catch2/catch.hpp>
#include <wsd/providers/llama/default_models.hpp>

#include <cstdlib>
#include <string>

TEST_CASE("the default pair's paths are those cmake/wsd-home.sh names, under WSD_HOME or its default", "[defaults]") {
  const char* was = std::getenv("WSD_HOME");
  const std::string saved = was ? was : "";
  ::setenv("WSD_HOME", "/somewhere/else", 1);
  CHECK(wsd::default_weak_model() == "/somewhere/else/models/" WSD_WEAK_MODEL);
  CHECK(wsd::default_strong_model() == "/somewhere/else/models/" WSD_STRONG_MODEL);
  ::unsetenv("WSD_HOME");
  const char* home = std::getenv("HOME");
  CHECK(wsd::wsd_home() == std::string(home ? home : ".") + "/" WSD_HOME_UNDER_HOME);
  if (was) ::setenv("WSD_HOME", saved.c_str(), 1);
}
