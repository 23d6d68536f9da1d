#pragma once
// The model flags: --weak and --strong (GGUF paths), or a named pair with --pair.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>
#include <wsd/providers/llama/default_models.hpp>

namespace wsd::tools {

class PairFlags {
 public:
  PairFlags(CLI::App& app) {
    weak_opt_ = app.add_option("--weak", weak_, "GGUF of the aligned drafter")->capture_default_str();
    strong_opt_ = app.add_option("--strong", strong_, "GGUF of the base model")->capture_default_str();
    std::string names;
    std::vector<std::string> known;
    for (const auto& p : model_pairs()) {
      names += (names.empty() ? "" : " | ") + p.name;
      known.push_back(p.name);
    }
    app.add_option("--pair", pair_, "a named pair of models: " + names + " (--weak / --strong replace its models)")
        ->check(CLI::IsMember(known));
    app.add_option("--shared-vocab", shared_,
                   "weak ids are strong ids: auto (where the two local models' vocabularies are the same, or "
                   "the configuration's shared_vocabulary says so) | yes | no")
        ->check(CLI::IsMember({"auto", "yes", "no"}))
        ->capture_default_str();
  }

  // The one rule every tool decides Config::shared_vocabulary by: --shared-vocab yes or no as given;
  // auto: where the configuration says so or the models' vocabularies are the same (`same`: never
  // assumed for a model on a server).
  bool shared_vocabulary(bool configured, bool same) const {
    if (shared_ == "yes") return true;
    if (shared_ == "no") return false;
    return configured || same;
  }

  // After parsing: the pair's models where --weak / --strong were not given.
  void resolve() {
    if (pair_.empty()) return;
    const ModelPair p = model_pair(pair_);
    if (weak_opt_->count() == 0) weak_ = p.weak;
    if (strong_opt_->count() == 0) strong_ = p.strong;
  }
  const std::string& weak() const { return weak_; }
  const std::string& strong() const { return strong_; }

 private:
  std::string weak_ = default_weak_model(), strong_ = default_strong_model(), pair_, shared_ = "auto";
  CLI::Option* weak_opt_ = nullptr;
  CLI::Option* strong_opt_ = nullptr;
};

}  // namespace wsd::tools
