#pragma once
// CSV files through libcsv (RFC 4180: quoted fields may hold commas, quotes and newlines).
// Needs the library: link wsd::formats.
#include <csv.h>

#include <cstddef>
#include <string>
#include <vector>

#include "wsd/core/errors.hpp"

namespace wsd {

struct CsvRow {
  std::vector<std::string> fields;
  std::size_t line = 0;  // the line the row starts on (1-based)
};

// Every row of a CSV file's text, the header first; an unterminated quote is an InputError naming
// the file (`path`) and the line.
inline std::vector<CsvRow> parse_csv(const std::string& text, const std::string& path) {
  struct State {
    std::vector<CsvRow> rows;
    CsvRow row;
    std::size_t line = 1;       // the line being parsed
    std::size_t row_start = 1;  // where the next row begins
  } state;
  csv_parser parser;
  if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
    throw InputError(path + ": libcsv could not start");
  auto on_field = [](void* data, std::size_t n, void* user) {
    auto& s = *static_cast<State*>(user);
    if (s.row.fields.empty()) s.row.line = s.row_start;
    s.row.fields.emplace_back(data ? static_cast<const char*>(data) : "", n);
  };
  auto on_row = [](int, void* user) {
    auto& s = *static_cast<State*>(user);
    s.rows.push_back(std::move(s.row));
    s.row = {};
    s.row_start = s.line + 1;  // a row ends at a newline of the line being parsed
  };
  bool failed = false;
  for (std::size_t pos = 0; pos < text.size(); ++state.line) {  // a line at a time: rows know their line
    std::size_t end = text.find('\n', pos);
    end = end == std::string::npos ? text.size() : end + 1;
    if (csv_parse(&parser, text.data() + pos, end - pos, on_field, on_row, &state) != end - pos) {
      failed = true;
      break;
    }
    pos = end;
  }
  if (!failed && state.line > 1) --state.line;  // the last line read, for an error at its end
  if (failed || csv_fini(&parser, on_field, on_row, &state) != 0) {
    const std::string why = csv_strerror(csv_error(&parser));
    csv_free(&parser);
    throw InputError(path + ":" + std::to_string(state.line) + ": not valid CSV (" + why + ")");
  }
  csv_free(&parser);
  return state.rows;
}

}  // namespace wsd
