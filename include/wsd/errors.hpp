#pragma once
// Typed errors: each message says what was wrong and where (file, line, field, value).
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

namespace wsd {

// Exit codes of the command-line tools, one per kind of failure.
inline constexpr int kExitUsage = 2;     // bad command line or configuration value
inline constexpr int kExitInput = 3;     // bad input data
inline constexpr int kExitModel = 4;     // a model that cannot be loaded
inline constexpr int kExitProvider = 5;  // a provider that broke its contract

// Base of every error wsd throws; `exit_code()` is what the command-line tools exit with.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  virtual int exit_code() const noexcept { return 1; }
  // The same error, of the same type, with `prefix` put before its message.
  virtual std::exception_ptr with_prefix(const std::string& prefix) const {
    return std::make_exception_ptr(Error(prefix + what()));
  }
};

// A kind of error: its exit code, and with_prefix() that keeps the type.
template <class Self, class Base, int Code>
class ErrorKind : public Base {
 public:
  using Base::Base;
  int exit_code() const noexcept override { return Code; }
  std::exception_ptr with_prefix(const std::string& prefix) const override {
    return std::make_exception_ptr(Self(prefix + this->what()));
  }
};

// A configuration value out of range or of the wrong type, or a bad command line.
class ConfigError : public ErrorKind<ConfigError, Error, kExitUsage> {
 public:
  using ErrorKind::ErrorKind;
};
// Bad input data: prompts files, conversations, JSON records.
class InputError : public ErrorKind<InputError, Error, kExitInput> {
 public:
  using ErrorKind::ErrorKind;
};
// A conversation (with what is to be written after it) longer than a model's context window.
class ContextOverflowError : public ErrorKind<ContextOverflowError, InputError, kExitInput> {
 public:
  using ErrorKind::ErrorKind;
};
// A model file that is missing, not GGUF, truncated or that llama.cpp cannot load or run.
class ModelError : public ErrorKind<ModelError, Error, kExitModel> {
 public:
  using ErrorKind::ErrorKind;
};
// A logits provider that broke its contract (NaN logits, wrong vocabulary size, bad token id).
class ProviderError : public ErrorKind<ProviderError, Error, kExitProvider> {
 public:
  using ErrorKind::ErrorKind;
};

// For a command-line tool's `catch (...)`: prints one line for the error being handled and
// returns the exit code of its kind (1 for anything that is not a wsd::Error).
inline int report_error(const char* tool) noexcept {
  try {
    throw;
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: %s\n", tool, e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: internal error: %s\n", tool, e.what());
  } catch (...) {
    std::fprintf(stderr, "%s: internal error\n", tool);
  }
  return 1;
}

}  // namespace wsd
