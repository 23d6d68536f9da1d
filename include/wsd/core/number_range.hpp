#pragma once
// The valid values of a number setting, and how an error message states them: one type for every
// described setting (core/fields.hpp) and every switch rule parameter (rules/parameters.hpp).
#include <cmath>
#include <limits>
#include <string>

#include "wsd/core/strings.hpp"

namespace wsd {

// The valid numbers: [min, max], each end excluded when *_open.
struct NumberRange {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool min_open = false;
  bool max_open = false;

  bool accepts(double v) const {
    if (std::isnan(v)) return false;
    return (min_open ? v > min : v >= min) && (max_open ? v < max : v <= max);
  }
  // What a value must be, for an error message: "is not in (0, 1]" or "must be at least 1".
  std::string describe() const {
    if (std::isinf(max)) return (min_open ? "must be more than " : "must be at least ") + format_number(min);
    return std::string("is not in ") + (min_open ? "(" : "[") + format_number(min) + ", " + format_number(max) +
           (max_open ? ")" : "]");
  }
  bool operator==(const NumberRange&) const = default;
};

}  // namespace wsd
