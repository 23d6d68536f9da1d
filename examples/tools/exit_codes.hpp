#pragma once
// The command-line tools' exit codes, one per kind of wsd::Error, and their one-line error report.
#include <cstdio>
#include <exception>

#include <wsd/core/errors.hpp>

namespace wsd::tools {

inline constexpr int kExitUsage = 2;     // bad command line or configuration value
inline constexpr int kExitInput = 3;     // bad input data
inline constexpr int kExitModel = 4;     // a model that cannot be loaded
inline constexpr int kExitProvider = 5;  // a provider that broke its contract

// The exit code for an error of this kind (1 for anything that is not a wsd::Error).
inline int exit_code(const std::exception& e) noexcept {
  if (dynamic_cast<const ConfigError*>(&e)) return kExitUsage;
  if (dynamic_cast<const InputError*>(&e)) return kExitInput;  // ContextOverflowError too
  if (dynamic_cast<const ModelError*>(&e)) return kExitModel;
  if (dynamic_cast<const ProviderError*>(&e)) return kExitProvider;
  return 1;
}

// For a command-line tool's `catch (...)`: prints one line for the error being handled and
// returns the exit code of its kind.
inline int report_error(const char* tool) noexcept {
  try {
    throw;
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: %s\n", tool, e.what());
    return exit_code(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: internal error: %s\n", tool, e.what());
  } catch (...) {
    std::fprintf(stderr, "%s: internal error\n", tool);
  }
  return 1;
}

}  // namespace wsd::tools
