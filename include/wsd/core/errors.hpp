#pragma once
// Typed errors: each message says what was wrong and where (file, line, field, value). What a
// command-line tool exits with for each kind is the tools' business (examples/tools/exit_codes.hpp).
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

namespace wsd {

// Base of every error wsd throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  // The same error, of the same type, with `prefix` put before its message.
  virtual std::exception_ptr with_prefix(const std::string& prefix) const {
    return std::make_exception_ptr(Error(prefix + what()));
  }
};

// A kind of error: with_prefix() keeps the type.
template <class Self, class Base>
class ErrorKind : public Base {
 public:
  using Base::Base;
  std::exception_ptr with_prefix(const std::string& prefix) const override {
    return std::make_exception_ptr(Self(prefix + this->what()));
  }
};

// A configuration value out of range or of the wrong type; `field` names the setting it is about
// (its configuration name, e.g. "draft.top_p") where one is known.
class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& message, std::string field = {}) : Error(message), field(std::move(field)) {}
  std::exception_ptr with_prefix(const std::string& prefix) const override {
    return std::make_exception_ptr(ConfigError(prefix + what(), field));
  }
  std::string field;
};
// Bad input data: prompts files, conversations, JSON records.
class InputError : public ErrorKind<InputError, Error> {
 public:
  using ErrorKind::ErrorKind;
};
// A conversation (with what is to be written after it) longer than a model's context window.
class ContextOverflowError : public ErrorKind<ContextOverflowError, InputError> {
 public:
  using ErrorKind::ErrorKind;
};
// A model file that is missing, not GGUF, truncated or that llama.cpp cannot load or run.
class ModelError : public ErrorKind<ModelError, Error> {
 public:
  using ErrorKind::ErrorKind;
};
// A logits provider that broke its contract (NaN logits, wrong vocabulary size, bad token id).
class ProviderError : public ErrorKind<ProviderError, Error> {
 public:
  using ErrorKind::ErrorKind;
};

// A conversation given up before it ended: cancelled before it started, or its loop shut down.
class CancelledError : public ErrorKind<CancelledError, Error> {
 public:
  using ErrorKind::ErrorKind;
};

}  // namespace wsd
