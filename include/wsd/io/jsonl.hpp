#pragma once
// Reading conversations from JSONL and writing result records one whole line at a time.
#include <cstdio>
#include <filesystem>
#include <istream>
#include <iterator>
#include <sstream>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "wsd/core/conversation.hpp"
#include "wsd/core/errors.hpp"
#include "wsd/core/result.hpp"
#include "wsd/json/result.hpp"
#include "wsd/core/strings.hpp"

namespace wsd {

// A prompts file's whole text; InputError naming the file when it is missing or unreadable.
inline std::string read_prompts_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw InputError(path + ": the prompts file does not exist");
  if (std::filesystem::is_directory(path, ec)) throw InputError(path + ": is a directory, not a prompts file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open the prompts file for reading");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// JSON text (a line or a whole file) checked for UTF-8 and parsed; errors name `where`.
inline nlohmann::json parse_json_text(const std::string& text, const std::string& where) {
  if (auto bad = invalid_utf8_offset(text); bad != std::string::npos)
    throw InputError(where + ": not valid UTF-8 (byte " + std::to_string(bad) + ")");
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number too large
    throw InputError(where + ": not valid JSON (" + std::string(e.what()) + ")");
  }
}

// One conversation from a JSON object {"id", "messages": [{"role", "content"}]}; `where` names
// the file and line for the error messages.
inline Conversation conversation_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw InputError(where + ": expected a JSON object");
  Conversation c;
  if (!j.contains("id")) throw InputError(where + ": missing field 'id'");
  if (j["id"].is_string()) c.id = j["id"].get<std::string>();
  else if (j["id"].is_number_integer()) c.id = std::to_string(j["id"].get<long long>());
  else throw InputError(where + ": field 'id' = " + j["id"].dump() + " is not a string");
  if (!j.contains("messages")) throw InputError(where + ": missing field 'messages'");
  const auto& msgs = j["messages"];
  if (!msgs.is_array()) throw InputError(where + ": field 'messages' is not a list");
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    const auto& m = msgs[i];
    const std::string at = where + ": messages[" + std::to_string(i) + "]";
    if (!m.is_object() || !m.contains("role") || !m.contains("content"))
      throw InputError(at + " needs the fields 'role' and 'content'");
    if (!m["role"].is_string()) throw InputError(at + ".role = " + m["role"].dump() + " is not a string");
    if (!m["content"].is_string()) throw InputError(at + ".content = " + m["content"].dump() + " is not a string");
    c.messages.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
  }
  try {
    validate_conversation(c);
  } catch (const InputError& e) {
    throw InputError(where + ": " + e.what());
  }
  return c;
}

// All conversations of a JSONL stream (blank lines skipped); errors name `name` and the line.
inline std::vector<Conversation> read_conversations(std::istream& in, const std::string& name) {
  std::vector<Conversation> out;
  std::set<std::string> ids;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    const std::string where = name + ":" + std::to_string(number);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    out.push_back(conversation_from_json(parse_json_text(line, where), where));
    if (!ids.insert(out.back().id).second) throw InputError(where + ": id '" + out.back().id + "' appears twice");
  }
  if (out.empty()) throw InputError(name + ": the prompts file holds no conversations");
  return out;
}

// All conversations of a JSONL file.
inline std::vector<Conversation> read_conversations(const std::string& path) {
  std::istringstream in(read_prompts_file(path));
  return read_conversations(in, path);
}

// The successful records of a results file (records with an `error` field are failures to retry;
// a torn last line, from a killed run, is ignored; any other bad line is an error).
inline std::vector<nlohmann::json> finished_records(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path, std::ios::binary);
  if (!in) return out;
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    try {
      auto record = nlohmann::json::parse(lines[i]);
      record.at("id").get<std::string>();
      if (!record.contains("error")) out.push_back(std::move(record));
    } catch (const nlohmann::json::exception&) {
      if (i + 1 == lines.size()) break;  // the line a kill cut short
      throw InputError(path + ":" + std::to_string(i + 1) + ": not a result record; cannot resume");
    }
  }
  return out;
}

// A record's sample index (0 when the run drew one sample per conversation).
inline std::size_t record_sample(const nlohmann::json& record) {
  const auto s = record.find("sample");
  return s != record.end() && s->is_number_unsigned() ? s->get<std::size_t>() : 0;
}

// The (id, sample) pairs already answered in a results file, for resuming.
inline std::set<std::pair<std::string, std::size_t>> finished_samples(const std::string& path) {
  std::set<std::pair<std::string, std::size_t>> out;
  for (const auto& r : finished_records(path)) out.emplace(r["id"].get<std::string>(), record_sample(r));
  return out;
}

// The ids already answered in a results file.
inline std::set<std::string> finished_ids(const std::string& path) {
  std::set<std::string> ids;
  for (const auto& [id, sample] : finished_samples(path)) ids.insert(id);
  return ids;
}

// Writes a whole file at once: to a temporary next to it, renamed over it.
inline void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    f.close();
    if (!f) throw InputError(tmp + ": could not be written (disk full?)");
  }
  std::filesystem::rename(tmp, path);
}

// Appends records as whole lines and flushes each, so a killed run loses at most the line in flight.
class ResultWriter {
 public:
  ResultWriter(const std::string& path, bool append) : path_(path) {
    if (append) drop_torn_and_failed();
    file_ = std::fopen(path.c_str(), append ? "ab" : "wb");
    if (!file_) throw InputError(path + ": cannot open the output file for writing");
  }
  ~ResultWriter() {
    if (file_) std::fclose(file_);
  }
  ResultWriter(const ResultWriter&) = delete;
  ResultWriter& operator=(const ResultWriter&) = delete;

  void write(const nlohmann::json& record) {
    const std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
      throw InputError(path_ + ": write failed (disk full?)");
  }

 private:
  // Before appending: drops a partial last line (a run killed mid-line) and the records of failed
  // conversations (they are retried), writing the rest to a new file renamed over the old one.
  void drop_torn_and_failed() {
    std::ifstream in(path_, std::ios::binary);
    if (!in) return;
    std::string kept, line;
    bool changed = false;
    while (std::getline(in, line)) {
      if (in.eof()) {  // no newline after it: torn
        changed = true;
        break;
      }
      const auto record = nlohmann::json::parse(line, nullptr, false);
      if (record.is_object() && record.contains("error")) {
        changed = true;
        continue;
      }
      kept += line + "\n";
    }
    in.close();
    if (!changed) return;
    write_file_atomically(path_, kept);
  }

  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace wsd
