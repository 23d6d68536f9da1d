#pragma once
// The accept index a rule gives over a complete list of probabilities (spec, step 3): the first
// switch, else n-1; -1 when n = 0 or the rule skips the draft.
#include <cstddef>
#include <span>

#include "wsd/core/concepts.hpp"

namespace wsd {

template <SwitchPolicy Switch>
long accept_index(Switch policy, std::span<const double> probs) {
  if (policy.skips_draft()) return -1;
  policy.reset();
  for (std::size_t k = 0; k < probs.size(); ++k)
    if (Judgement(policy.observe(probs[k])).switch_here) return static_cast<long>(k);
  return static_cast<long>(probs.size()) - 1;
}

}  // namespace wsd
