#include <catch2/catch.hpp>
#include <wsd/wsd.hpp>

#include <limits>
#include <set>

namespace {
const std::vector<float> kRow{0.1f, 2.0f, 1.5f, -1.0f, 1.9f, 0.0f};
}

TEST_CASE("greedy picks the highest logit, the lowest id on a tie", "[sampling]") {
  wsd::Sampler s;
  CHECK(s.sample(kRow.data(), kRow.size()) == 1);
  const std::vector<float> tie{1.0f, 3.0f, 3.0f};
  CHECK(s.sample(tie.data(), tie.size()) == 1);
}

TEST_CASE("the same seed gives the same tokens; reset() restarts the stream", "[sampling]") {
  wsd::Sampler a({1.0, 1.0, 0, 42}), b({1.0, 1.0, 0, 42});
  std::vector<wsd::Token> first;
  for (int i = 0; i < 50; ++i) {
    first.push_back(a.sample(kRow.data(), kRow.size()));
    CHECK(first.back() == b.sample(kRow.data(), kRow.size()));
  }
  a.reset();
  for (int i = 0; i < 50; ++i) CHECK(a.sample(kRow.data(), kRow.size()) == first[static_cast<std::size_t>(i)]);
}

TEST_CASE("different seeds give different streams", "[sampling]") {
  wsd::Sampler a({1.0, 1.0, 0, 1}), b({1.0, 1.0, 0, 2});
  int differ = 0;
  for (int i = 0; i < 50; ++i) differ += a.sample(kRow.data(), kRow.size()) != b.sample(kRow.data(), kRow.size());
  CHECK(differ > 5);
}

TEST_CASE("top-k keeps only the k highest logits", "[sampling]") {
  wsd::Sampler s({5.0, 1.0, 2, 3});
  std::set<wsd::Token> seen;
  for (int i = 0; i < 400; ++i) seen.insert(s.sample(kRow.data(), kRow.size()));
  CHECK(seen == std::set<wsd::Token>{1, 4});
}

TEST_CASE("top-p keeps the smallest set of tokens whose mass reaches p", "[sampling]") {
  const std::vector<float> row{std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  wsd::Sampler s({1.0, 0.75, 0, 9});
  std::set<wsd::Token> seen;
  for (int i = 0; i < 400; ++i) seen.insert(s.sample(row.data(), row.size()));
  CHECK(seen == std::set<wsd::Token>{0, 1});
}

TEST_CASE("temperature sampling follows the softmax", "[sampling]") {
  const std::vector<float> row{0.0f, std::log(3.0f)};  // P = 1/4, 3/4
  wsd::Sampler s({1.0, 1.0, 0, 5});
  int ones = 0;
  for (int i = 0; i < 4000; ++i) ones += s.sample(row.data(), row.size()) == 1;
  CHECK(ones == Approx(3000).margin(150));
}

TEST_CASE("probabilities are computed stably for huge logits", "[probability]") {
  const std::vector<float> row{1000.0f, 1000.0f, -1000.0f};
  CHECK(wsd::token_probability(row.data(), row.size(), 0) == Approx(0.5));
  CHECK(wsd::token_probability(row.data(), row.size(), 2) == Approx(0.0).margin(1e-300));
}

TEST_CASE("NaN or infinite logits and out-of-range tokens are reported as provider errors", "[probability]") {
  const std::vector<float> nan_row{0.0f, std::numeric_limits<float>::quiet_NaN()};
  const std::vector<float> inf_row{0.0f, std::numeric_limits<float>::infinity()};
  CHECK_THROWS_AS(wsd::token_probability(nan_row.data(), 2, 0), wsd::ProviderError);
  CHECK_THROWS_AS(wsd::token_probability(inf_row.data(), 2, 0), wsd::ProviderError);
  CHECK_THROWS_WITH(wsd::token_probability(kRow.data(), kRow.size(), 6), Catch::Contains("token id 6"));
  CHECK_THROWS_AS(wsd::token_probability(kRow.data(), kRow.size(), -1), wsd::ProviderError);
}

TEST_CASE("a logits block is viewed as [rows x vocab] without a copy", "[probability]") {
  const std::vector<float> data{1, 2, 3, 4, 5, 6};
  const wsd::LogitsBlock block{data.data(), 2, 3};
  auto v = block.view();
  CHECK(v.shape()[0] == 2);
  CHECK(v.shape()[1] == 3);
  CHECK(v(1, 2) == 6.0f);
  CHECK(&v(1, 0) == data.data() + 3);
}
