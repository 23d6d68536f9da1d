#pragma once
// Typed errors: each message says what was wrong and where (file, line, field, value).
#include <stdexcept>
#include <string>

namespace wsd {

// Base of every error wsd throws; `exit_code()` is what the command-line tools exit with.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  virtual int exit_code() const noexcept { return 1; }
};

// A configuration value out of range or of the wrong type.
class ConfigError : public Error {
 public:
  using Error::Error;
  int exit_code() const noexcept override { return 2; }
};

// Bad input data: prompts files, conversations, JSON records.
class InputError : public Error {
 public:
  using Error::Error;
  int exit_code() const noexcept override { return 3; }
};

// A model that cannot be loaded or does not fit the request (context too small).
class ModelError : public Error {
 public:
  using Error::Error;
  int exit_code() const noexcept override { return 4; }
};

// A logits provider that broke its contract (NaN logits, wrong vocabulary size, bad token id).
class ProviderError : public Error {
 public:
  using Error::Error;
  int exit_code() const noexcept override { return 5; }
};

}  // namespace wsd
