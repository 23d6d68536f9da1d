#pragma once
// Stop strings over a growing text, found also when they straddle token boundaries.
#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsd {

class StopStrings {
 public:
  StopStrings() = default;
  explicit StopStrings(std::vector<std::string> stops) : stops_(std::move(stops)) {
    for (const auto& s : stops_) longest_ = std::max(longest_, s.size());
  }

  // Earliest start of any stop string in text; only matches ending after `new_from` are looked for,
  // so a caller that appends pieces searches just the part that could hold a new match.
  std::optional<std::size_t> find(std::string_view text, std::size_t new_from = 0) const {
    if (stops_.empty()) return std::nullopt;
    const std::size_t start = new_from >= longest_ ? new_from - longest_ + 1 : 0;
    std::optional<std::size_t> best;
    for (const auto& s : stops_) {
      if (s.empty()) continue;
      const auto pos = text.find(s, start);
      if (pos != std::string_view::npos && (!best || pos < *best)) best = pos;
    }
    return best;
  }

  // text cut at the first stop string (the reference's final truncation).
  std::string_view cut(std::string_view text) const {
    const auto pos = find(text);
    return pos ? text.substr(0, *pos) : text;
  }

  // Length of the longest prefix of text that no later piece can turn into the start of a stop.
  std::size_t safe_prefix(std::string_view text) const {
    std::size_t safe = text.size();
    for (const auto& s : stops_) {
      if (s.empty()) continue;
      for (std::size_t k = std::min(s.size() - 1, text.size()); k > 0; --k)
        if (text.substr(text.size() - k) == std::string_view(s).substr(0, k)) {
          safe = std::min(safe, text.size() - k);
          break;
        }
    }
    return safe;
  }

  const std::vector<std::string>& strings() const { return stops_; }

 private:
  std::vector<std::string> stops_;
  std::size_t longest_ = 0;
};

}  // namespace wsd
