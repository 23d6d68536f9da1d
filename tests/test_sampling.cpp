#include <catch2/catch.hpp>
#include <wsd/numeric/views.hpp>
#include <wsd/wsd.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <set>

#include "../benchmarks/eigen_rows.hpp"

namespace {
const std::vector<float> kRow{0.1f, 2.0f, 1.5f, -1.0f, 1.9f, 0.0f};
}

TEST_CASE("greedy picks the highest logit, the lowest id on a tie", "[sampling]") {
  wsd::Sampler s;
  CHECK(s.sample(kRow.data(), kRow.size()) == 1);
  const std::vector<float> tie{1.0f, 3.0f, 3.0f};
  CHECK(s.sample(tie.data(), tie.size()) == 1);
}

TEST_CASE("the same seed gives the same tokens and reset() restarts the stream", "[sampling]") {
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
  auto v = wsd::view(block);
  CHECK(v.shape()[0] == 2);
  CHECK(v.shape()[1] == 3);
  CHECK(v(1, 2) == 6.0f);
  CHECK(&v(1, 0) == data.data() + 3);
}

namespace {
// Rows that exercise every lane and tail: sizes around the vector width, -inf entries, ties.
std::vector<std::vector<float>> kernel_rows() {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 4.0f);
  std::vector<std::vector<float>> rows;
  for (std::size_t n : {1u, 7u, 8u, 9u, 15u, 16u, 17u, 33u, 1000u, 49152u, 262144u}) {
    std::vector<float> r(n);
    for (auto& x : r) x = normal(rng);
    if (n > 3) r[n / 3] = -std::numeric_limits<float>::infinity();
    if (n > 5) r[n - 2] = r[n / 2] = 30.0f;  // a tie for the maximum: the lower id wins
    rows.push_back(r);
  }
  return rows;
}

double reference_log_sum_exp(const std::vector<float>& r) {
  double m = -std::numeric_limits<double>::infinity(), s = 0.0;
  for (float x : r) m = std::max(m, static_cast<double>(x));
  for (float x : r) s += std::exp(static_cast<double>(x) - m);
  return m + std::log(s);
}
}  // namespace

TEST_CASE("the row kernels agree with a double-precision reference", "[probability][kernels]") {
  for (const auto& r : kernel_rows()) {
    CAPTURE(r.size());
    const double ref = reference_log_sum_exp(r);
    CHECK(wsd::log_sum_exp(r.data(), r.size()) == Approx(ref).epsilon(1e-6));
    const auto best = static_cast<std::size_t>(std::max_element(r.begin(), r.end()) - r.begin());
    CHECK(static_cast<std::size_t>(wsd::argmax(r.data(), r.size())) == best);
    const auto m = wsd::kernels::portable::row_max(r.data(), r.size());
    CHECK(wsd::kernels::portable::sum_exp(r.data(), r.size(), m.value) ==
          Approx(std::exp(ref - static_cast<double>(m.value))).epsilon(1e-6));
#if WSD_HAVE_AVX2_KERNELS
    if (wsd::kernels::use_avx2()) {
      const auto v = wsd::kernels::avx2::row_max(r.data(), r.size());
      CHECK(v.value == m.value);
      CHECK_FALSE(v.has_nan);
      CHECK(wsd::kernels::avx2::sum_exp(r.data(), r.size(), v.value) ==
            Approx(std::exp(ref - static_cast<double>(v.value))).epsilon(1e-6));
      CHECK(wsd::kernels::avx2::first_index_of(r.data(), r.size(), v.value) == best);
    }
#endif
    // Eigen's reductions (the micro-benchmark's comparison) as a second reference.
    const auto e = wsd::eigen::row_max(r.data(), r.size());
    CHECK(e.value == m.value);
    CHECK(wsd::eigen::sum_exp(r.data(), r.size(), e.value) ==
          Approx(wsd::kernels::portable::sum_exp(r.data(), r.size(), m.value)).epsilon(1e-5));
  }
}

TEST_CASE("the row kernels see a NaN in any lane or in the tail", "[probability][kernels]") {
  for (std::size_t n : {5u, 16u, 37u, 1024u}) {
    for (std::size_t at : {std::size_t{0}, n / 2, n - 1}) {
      std::vector<float> r(n, 1.0f);
      r[at] = std::numeric_limits<float>::quiet_NaN();
      CAPTURE(n, at);
      CHECK_THROWS_WITH(wsd::log_sum_exp(r.data(), n), Catch::Contains("NaN"));
      CHECK_THROWS_WITH(wsd::argmax(r.data(), n), Catch::Contains("NaN"));
      CHECK(wsd::kernels::portable::row_max(r.data(), n).has_nan);
#if WSD_HAVE_AVX2_KERNELS
      if (wsd::kernels::use_avx2()) CHECK(wsd::kernels::avx2::row_max(r.data(), n).has_nan);
#endif
    }
  }
  const std::vector<float> all_masked(40, -std::numeric_limits<float>::infinity());
  CHECK_THROWS_AS(wsd::argmax(all_masked.data(), all_masked.size()), wsd::ProviderError);
  CHECK_THROWS_AS(wsd::log_sum_exp(all_masked.data(), all_masked.size()), wsd::ProviderError);
}
