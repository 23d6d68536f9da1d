#pragma once
// The alignment benchmarks' own files as conversations, as the reference's loaders read them:
// our JSONL, OpenAI-style chat JSONL, the reference's JSONL, AlpacaEval, Arena-Hard, MT-Bench
// (first turn, or the second after our answers to the first) and TruthfulQA (CSV or JSONL).
// Ids follow the reference's (alpaca_eval:0, arena_hard:0, mt_bench_1:0, truthfulQA:0, ...).
// Needs libcsv for the CSV: link wsd::formats.
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "wsd/core/conversation.hpp"
#include "wsd/io/csv.hpp"
#include "wsd/core/errors.hpp"
#include "wsd/io/jsonl.hpp"
#include "wsd/json/result.hpp"

namespace wsd {

enum class InputFormat { detect, wsd, chat, reference, alpaca_eval, arena_hard, mt_bench, truthfulqa };

inline const std::vector<std::pair<InputFormat, std::string>>& input_format_names() {
  static const std::vector<std::pair<InputFormat, std::string>> names = {{InputFormat::detect, "auto"},
                                                                         {InputFormat::wsd, "wsd"},
                                                                         {InputFormat::chat, "chat"},
                                                                         {InputFormat::reference, "reference"},
                                                                         {InputFormat::alpaca_eval, "alpaca_eval"},
                                                                         {InputFormat::arena_hard, "arena_hard"},
                                                                         {InputFormat::mt_bench, "mt_bench"},
                                                                         {InputFormat::truthfulqa, "truthfulqa"}};
  return names;
}
inline std::string to_string(InputFormat f) {
  for (const auto& [format, name] : input_format_names())
    if (format == f) return name;
  return "?";
}
inline InputFormat input_format_from_string(const std::string& s) {
  std::string all;
  for (const auto& [format, name] : input_format_names()) {
    if (name == s) return format;
    all += (all.empty() ? "" : ", ") + name;
  }
  throw ConfigError("input_format = \"" + s + "\" is not one of " + all);
}

// One prompt of a benchmark: the conversation to answer and what the judges' files need from the
// original record (instruction, dataset, question_id, earlier answers).
struct BenchmarkItem {
  Conversation conversation;
  nlohmann::json source = nlohmann::json::object();
};

struct BenchmarkInput {
  InputFormat format = InputFormat::wsd;
  std::vector<BenchmarkItem> items;
};

struct BenchmarkReadOptions {
  InputFormat format = InputFormat::detect;
  int turn = 1;          // MT-Bench: 1, or 2 with `previous`
  std::string previous;  // MT-Bench turn 2: our answers to turn 1 (trace JSONL or MT-Bench answer JSONL)
};

namespace detail {

struct JsonLine {
  nlohmann::json value;
  std::string where;  // file:line
  std::size_t index;  // 0-based among the records
};

// The non-blank lines of a JSONL file's text, parsed.
inline std::vector<JsonLine> json_lines(const std::string& text, const std::string& path) {
  std::vector<JsonLine> out;
  std::istringstream in(text);
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(number);
    out.push_back({parse_json_text(line, where), where, out.size()});
  }
  return out;
}

inline const nlohmann::json& field(const nlohmann::json& j, const char* name, const std::string& where) {
  if (!j.is_object()) throw InputError(where + ": expected a JSON object");
  if (!j.contains(name)) throw InputError(where + ": missing field '" + std::string(name) + "'");
  return j[name];
}

inline std::string string_field(const nlohmann::json& j, const char* name, const std::string& where) {
  const auto& v = field(j, name, where);
  if (!v.is_string())
    throw InputError(where + ": field '" + std::string(name) + "' = " + v.dump() + " is not a string");
  return v.get<std::string>();
}

// An id from a string or integer field (question_id is an integer in MT-Bench, a string in Arena-Hard).
inline std::string id_field(const nlohmann::json& j, const char* name, const std::string& where) {
  const auto& v = field(j, name, where);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<long long>());
  throw InputError(where + ": field '" + std::string(name) + "' = " + v.dump() + " is not a string or an integer");
}

inline Conversation single_question(std::string id, const std::string& question, const std::string& where) {
  Conversation c{std::move(id), {{"user", question}}};
  try {
    validate_conversation(c);
  } catch (const InputError& e) {
    throw InputError(where + ": " + e.what());
  }
  return c;
}

inline InputFormat detect(const std::string& path, const std::string& text) {
  if (std::filesystem::path(path).extension() == ".csv") return InputFormat::truthfulqa;
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) throw InputError(path + ": the prompts file holds no conversations");
  if (text[first] == '[') return InputFormat::alpaca_eval;
  const auto end = text.find('\n', first);
  const std::string where =
      path + ":" + std::to_string(1 + std::count(text.begin(), text.begin() + static_cast<long>(first), '\n'));
  const nlohmann::json j =
      parse_json_text(text.substr(first, end == std::string::npos ? std::string::npos : end - first), where);
  if (!j.is_object()) throw InputError(where + ": expected a JSON object");
  if (j.contains("messages")) return j.contains("id") ? InputFormat::wsd : InputFormat::chat;
  if (j.contains("context") && j.contains("meta")) return InputFormat::reference;
  if (j.contains("question_id") && j.contains("turns"))  // MT-Bench's turns are strings, Arena-Hard's {"content"}
    return j["turns"].is_array() && !j["turns"].empty() && j["turns"][0].is_string() ? InputFormat::mt_bench
                                                                                     : InputFormat::arena_hard;
  if (j.contains("question")) return InputFormat::truthfulqa;
  std::string fields;
  for (const auto& [k, v] : j.items()) fields += (fields.empty() ? "" : ", ") + k;
  throw InputError(where + ": cannot tell which benchmark this is (fields: " + fields +
                   "); name its format (input_format)");
}

// MT-Bench turn 2: our answers to turn 1 by question id, from a trace JSONL (records with
// "question_id" in their source, or ids mt_bench_1:N) or an MT-Bench answer JSONL.
inline std::map<std::string, std::string> previous_answers(const std::string& path) {
  std::map<std::string, std::string> out;
  for (const auto& line : json_lines(read_prompts_file(path), path)) {
    const auto& j = line.value;
    if (!j.is_object()) throw InputError(line.where + ": expected a JSON object");
    if (j.contains("choices")) {  // an MT-Bench answer record
      const std::string id = id_field(j, "question_id", line.where);
      const auto& choices = j["choices"];
      if (!choices.is_array() || choices.empty() || !choices[0].contains("turns") || !choices[0]["turns"].is_array() ||
          choices[0]["turns"].empty())
        throw InputError(line.where + ": choices[0].turns is missing or empty");
      const auto& t = choices[0]["turns"][0];
      if (t.is_string())
        out[id] = t.get<std::string>();
      else if (t.is_object() && t.contains("content") && t["content"].is_string())
        out[id] = t["content"].get<std::string>();
      else
        throw InputError(line.where + ": choices[0].turns[0] is not a string or {content}");
    } else if (j.contains("error")) {
      continue;  // a failed conversation of that run
    } else {
      if (j.contains("sample") && j["sample"] != 0) continue;  // the first sample answers
      const std::string id =
          j.contains("question_id") ? id_field(j, "question_id", line.where) : string_field(j, "id", line.where);
      out[id] = string_field(j, "text", line.where);
    }
  }
  return out;
}

}  // namespace detail

// Reads a benchmark file in `options.format` (detected from the content when detect). Every
// format maps to conversations; bad files are InputErrors naming the file, the line or index and
// the field.
inline BenchmarkInput read_benchmark(const std::string& path, const BenchmarkReadOptions& options = {}) {
  using detail::field;
  using detail::string_field;
  BenchmarkInput in;
  const std::string text = read_prompts_file(path);
  in.format = options.format == InputFormat::detect ? detail::detect(path, text) : options.format;
  if (options.turn != 1 && in.format != InputFormat::mt_bench)
    throw ConfigError("turn = " + std::to_string(options.turn) + ": only MT-Bench has a second turn");
  if (options.turn == 2 && options.previous.empty())
    throw ConfigError("turn = 2 needs previous: the output file of turn 1");
  if (options.turn != 1 && options.turn != 2)
    throw ConfigError("turn = " + std::to_string(options.turn) + " is not 1 or 2");
  auto add = [&](Conversation c, nlohmann::json source) { in.items.push_back({std::move(c), std::move(source)}); };

  switch (in.format) {
    case InputFormat::detect:
    case InputFormat::wsd: {
      std::istringstream s(text);
      for (auto& c : read_conversations(s, path)) add(std::move(c), nlohmann::json::object());
      return in;
    }
    case InputFormat::chat:
      for (const auto& line : detail::json_lines(text, path)) {
        nlohmann::json j = line.value;
        if (!j.is_object()) throw InputError(line.where + ": expected a JSON object");
        j["id"] = line.where.substr(path.size() + 1);  // the line number
        add(conversation_from_json(j, line.where), nlohmann::json::object());
      }
      break;
    case InputFormat::reference:
      for (const auto& line : detail::json_lines(text, path)) {
        const nlohmann::json j = {{"id", field(line.value, "meta", line.where)},
                                  {"messages", field(line.value, "context", line.where)}};
        nlohmann::json source = line.value;
        source.erase("context");
        add(conversation_from_json(j, line.where), source);
      }
      break;
    case InputFormat::alpaca_eval: {
      const nlohmann::json all = parse_json_text(text, path);
      if (!all.is_array()) throw InputError(path + ": an AlpacaEval set is a JSON array of objects");
      for (std::size_t i = 0; i < all.size(); ++i) {
        const std::string where = path + ": [" + std::to_string(i) + "]";
        const std::string instruction = string_field(all[i], "instruction", where);
        nlohmann::json source = {{"instruction", instruction}, {"dataset", all[i].value("dataset", std::string())}};
        add(detail::single_question("alpaca_eval:" + std::to_string(i), instruction, where), source);
      }
      break;
    }
    case InputFormat::arena_hard:
      for (const auto& line : detail::json_lines(text, path)) {
        const std::string qid = detail::id_field(line.value, "question_id", line.where);
        const auto& turns = field(line.value, "turns", line.where);
        if (!turns.is_array() || turns.empty())
          throw InputError(line.where + ": field 'turns' is not a non-empty list");
        const std::string question = string_field(turns[0], "content", line.where + ": turns[0]");
        add(detail::single_question("arena_hard:" + std::to_string(line.index), question, line.where),
            {{"question_id", line.value["question_id"]}});
      }
      break;
    case InputFormat::mt_bench: {
      std::map<std::string, std::string> previous;
      if (options.turn == 2) previous = detail::previous_answers(options.previous);
      for (const auto& line : detail::json_lines(text, path)) {
        const std::string qid = detail::id_field(line.value, "question_id", line.where);
        const auto& turns = field(line.value, "turns", line.where);
        if (!turns.is_array() || turns.size() < static_cast<std::size_t>(options.turn))
          throw InputError(line.where + ": field 'turns' has no turn " + std::to_string(options.turn));
        for (std::size_t t = 0; t < static_cast<std::size_t>(options.turn); ++t)
          if (!turns[t].is_string())
            throw InputError(line.where + ": turns[" + std::to_string(t) + "] is not a string");
        nlohmann::json source = {{"question_id", line.value["question_id"]}, {"turn", options.turn}};
        const std::string index = std::to_string(line.index);
        if (options.turn == 1) {
          add(detail::single_question("mt_bench_1:" + index, turns[0], line.where), source);
          continue;
        }
        auto it = previous.find(qid);
        if (it == previous.end()) it = previous.find("mt_bench_1:" + index);
        if (it == previous.end())
          throw InputError(options.previous + ": no answer to question_id " + qid + " (" + line.where + ")");
        source["previous_turns"] = {it->second};
        Conversation c{"mt_bench_2:" + index,
                       {{"user", turns[0]}, {"assistant", std::string(strip(it->second))}, {"user", turns[1]}}};
        validate_conversation(c);
        add(std::move(c), source);
      }
      break;
    }
    case InputFormat::truthfulqa:
      if (std::filesystem::path(path).extension() == ".csv") {
        const auto rows = parse_csv(text, path);
        if (rows.empty()) throw InputError(path + ": the CSV file is empty");
        std::size_t column = rows[0].fields.size();
        for (std::size_t i = 0; i < rows[0].fields.size(); ++i)
          if (rows[0].fields[i] == "Question") column = i;
        if (column == rows[0].fields.size()) throw InputError(path + ":1: the header has no 'Question' column");
        for (std::size_t r = 1; r < rows.size(); ++r) {
          const std::string where = path + ":" + std::to_string(rows[r].line);
          if (rows[r].fields.size() <= column)
            throw InputError(where + ": the row has " + std::to_string(rows[r].fields.size()) +
                             " fields, no 'Question'");
          add(detail::single_question("truthfulQA:" + std::to_string(r - 1), rows[r].fields[column], where),
              {{"question", rows[r].fields[column]}});
        }
      } else {
        for (const auto& line : detail::json_lines(text, path)) {
          const std::string question = string_field(line.value, "question", line.where);
          add(detail::single_question("truthfulQA:" + std::to_string(line.index), question, line.where),
              {{"question", question}});
        }
      }
      break;
  }
  if (in.items.empty()) throw InputError(path + ": the prompts file holds no conversations");
  std::set<std::string> ids;
  for (const auto& item : in.items)
    if (!ids.insert(item.conversation.id).second)
      throw InputError(path + ": id '" + item.conversation.id + "' appears twice");
  return in;
}

}  // namespace wsd
