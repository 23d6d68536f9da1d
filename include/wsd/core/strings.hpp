#pragma once
// Small text helpers with the reference's (Python str) semantics, UTF-8 validation, numbers in messages.
#include <charconv>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace wsd {

inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

inline std::string_view lstrip(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  return s;
}
inline std::string_view rstrip(std::string_view s) {
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}
inline std::string_view strip(std::string_view s) { return rstrip(lstrip(s)); }

// A number as error messages show it: the shortest text that reads back as the same double.
inline std::string format_number(double v) {
  char buf[64];
  const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  return std::string(buf, end);
}

namespace detail {
// Items as a list in a message: "a, b, c".
inline std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}
}  // namespace detail

// Byte offset of the first invalid UTF-8 sequence, or npos when the text is valid UTF-8.
inline std::size_t invalid_utf8_offset(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size()) return i;
    for (std::size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return i;
    const unsigned cp = len == 1 ? c
                        : len == 2 ? ((c & 0x1Fu) << 6) | (s[i + 1] & 0x3Fu)
                        : len == 3 ? ((c & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu)
                                   : ((c & 0x07u) << 18) | ((s[i + 1] & 0x3Fu) << 12) |
                                         ((s[i + 2] & 0x3Fu) << 6) | (s[i + 3] & 0x3Fu);
    const bool overlong = (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

}  // namespace wsd
