#pragma once
// The online form's answer against the offline reference's: the same switch, reason and text, and
// the kept draft's tokens and p_k bit for bit (the reference also lists the tokens it did not keep).
#include <catch2/catch.hpp>
#include <wsd/core.hpp>

#include <algorithm>

namespace wsd::test {

inline void require_same_response(const wsd::Result& online, const wsd::Result& offline) {
  REQUIRE(online.accept_index == offline.accept_index);
  CHECK(online.reason == offline.reason);
  CHECK(online.text == offline.text);
  CHECK(online.accepted_text == offline.accepted_text);
  CHECK(online.continuation_tokens == offline.continuation_tokens);
  const auto kept = static_cast<std::size_t>(offline.accept_index + 1);
  REQUIRE(online.draft_tokens.size() == kept);
  CHECK(std::equal(online.draft_tokens.begin(), online.draft_tokens.end(), offline.draft_tokens.begin()));
  REQUIRE(online.probs.size() == kept);
  CHECK(std::equal(online.probs.begin(), online.probs.end(), offline.probs.begin()));
}

}  // namespace wsd::test
