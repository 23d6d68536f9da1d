#pragma once
// What the benchmarks' judges read, made from the answers: AlpacaEval's model_outputs.json,
// Arena-Hard's and MT-Bench's answer JSONL (FastChat's format: MT-Bench turns are strings,
// Arena-Hard turns {"content"}). One entry per conversation (and sample), in input order.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "wsd/io/benchmark_input.hpp"
#include "wsd/core/errors.hpp"

namespace wsd {

enum class OutputFormat { trace, alpaca_eval, arena_hard, mt_bench };

inline OutputFormat output_format_from_string(const std::string& s) {
  if (s == "trace") return OutputFormat::trace;
  if (s == "alpaca_eval") return OutputFormat::alpaca_eval;
  if (s == "arena_hard") return OutputFormat::arena_hard;
  if (s == "mt_bench") return OutputFormat::mt_bench;
  throw ConfigError("output_format = \"" + s + "\" is not one of trace, alpaca_eval, arena_hard, mt_bench");
}

namespace detail {
// A stable answer id (FastChat draws a random one): FNV-1a over the model, question and answer.
inline std::string answer_id(const std::string& model, const std::string& id, const std::string& text) {
  std::uint64_t h = 1469598103934665603ull;
  for (const std::string* s : {&model, &id, &text})
    for (unsigned char c : *s + '\x1f') h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}
}  // namespace detail

// The judge's file for `answers[i][s]` (the text of item i's sample s), made by `generator`, at
// time `tstamp` (seconds since the epoch). Not for OutputFormat::trace.
inline std::string judge_file(OutputFormat format, const std::vector<BenchmarkItem>& items,
                              const std::vector<std::vector<std::string>>& answers, const std::string& generator,
                              double tstamp) {
  std::string out;
  nlohmann::json array = nlohmann::json::array();
  for (std::size_t i = 0; i < items.size(); ++i) {
    const BenchmarkItem& item = items[i];
    const nlohmann::json& src = item.source;
    if (format == OutputFormat::alpaca_eval) {
      for (std::size_t s = 0; s < answers[i].size(); ++s) {
        nlohmann::json e = {{"instruction", src.value("instruction", item.conversation.messages.back().content)},
                            {"output", answers[i][s]},
                            {"generator", generator},
                            {"dataset", src.value("dataset", std::string())}};
        if (answers[i].size() > 1) e["sample"] = s;
        array.push_back(std::move(e));
      }
      continue;
    }
    const nlohmann::json question_id =
        src.contains("question_id") ? src["question_id"] : nlohmann::json(item.conversation.id);
    nlohmann::json choices = nlohmann::json::array();
    for (std::size_t s = 0; s < answers[i].size(); ++s) {
      nlohmann::json turns = nlohmann::json::array();
      if (format == OutputFormat::mt_bench) {
        for (const auto& t : src.value("previous_turns", nlohmann::json::array())) turns.push_back(t);
        turns.push_back(answers[i][s]);
      } else {
        turns.push_back({{"content", answers[i][s]}});
      }
      choices.push_back({{"index", s}, {"turns", turns}});
    }
    const nlohmann::json record = {{"question_id", question_id},
                                   {"answer_id", detail::answer_id(generator, item.conversation.id, answers[i][0])},
                                   {"model_id", generator},
                                   {"choices", choices},
                                   {"tstamp", tstamp}};
    out += record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  if (format == OutputFormat::alpaca_eval)
    return array.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return out;
}

}  // namespace wsd
