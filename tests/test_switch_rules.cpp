#include <catch2/catch.hpp>
#include <wsd/wsd.hpp>

#include <cmath>
#include <vector>

using wsd::accept_index;
using wsd::WindowMeanSwitch;

namespace {
// The spec's step 3 written out directly, as an independent oracle.
long spec_accept_index(const std::vector<double>& p, double tau, std::size_t w) {
  for (std::size_t k = 0; k < p.size(); ++k) {
    if (k + 1 < w) continue;
    double prod = 1.0;
    for (std::size_t i = k + 1 - w; i <= k; ++i) prod *= p[i];
    if (std::pow(prod, 1.0 / static_cast<double>(w)) >= tau) return static_cast<long>(k);
  }
  return static_cast<long>(p.size()) - 1;
}
}  // namespace

TEST_CASE("an empty draft keeps nothing: accept index -1", "[switch]") {
  CHECK(accept_index(WindowMeanSwitch(0.8, 6), std::vector<double>{}) == -1);
}

TEST_CASE("a draft shorter than the window is kept whole: no switch before w tokens", "[switch]") {
  const std::vector<double> p{1.0, 1.0, 1.0};
  CHECK(accept_index(WindowMeanSwitch(0.8, 6), p) == 2);
}

TEST_CASE("the first full window at or above tau is the switch point", "[switch]") {
  const std::vector<double> p{0.1, 0.9, 0.9, 0.9, 0.95, 0.99, 0.99, 0.99};
  // windows of 3: g_2 = (0.1*0.9*0.9)^(1/3) < 0.8, g_3 = (0.9^3)^(1/3) = 0.9 >= 0.8
  CHECK(accept_index(WindowMeanSwitch(0.8, 3), p) == 3);
}

TEST_CASE("a window mean exactly equal to tau switches", "[switch]") {
  const std::vector<double> p{0.5, 0.5, 0.5, 0.5};  // (0.5^4)^(1/4) is exactly 0.5 in binary
  WindowMeanSwitch rule(0.5, 4);
  CHECK(accept_index(rule, p) == 3);
  rule.reset();
  for (int i = 0; i < 3; ++i) CHECK_FALSE(rule.observe(0.5));
  CHECK(rule.observe(0.5));
  CHECK(rule.window_mean() == 0.5);
}

TEST_CASE("tau = 1 switches only on a window of certain tokens", "[switch]") {
  CHECK(accept_index(WindowMeanSwitch(1.0, 2), std::vector<double>{1.0, 0.999, 1.0, 1.0}) == 3);
}

TEST_CASE("a mean that never reaches tau keeps the whole draft: accept index n-1", "[switch]") {
  const std::vector<double> p(40, 0.79);
  CHECK(accept_index(WindowMeanSwitch(0.8, 6), p) == 39);
}

TEST_CASE("window means before a full window are reported as 0, as in the reference", "[switch]") {
  WindowMeanSwitch rule(0.8, 3);
  rule.observe(0.9);
  CHECK(rule.window_mean() == 0.0);
  rule.observe(0.9);
  CHECK(rule.window_mean() == 0.0);
  rule.observe(0.9);
  CHECK(rule.window_mean() == Approx(0.9));
}

TEST_CASE("the window-mean rule agrees with the spec's formula on random probability streams", "[switch]") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int c = 0; c < 500; ++c) {
    const std::size_t n = rng() % 40, w = 1 + rng() % 8;
    const double tau = 0.05 + 0.95 * u(rng);
    std::vector<double> p(n);
    for (auto& x : p) x = std::pow(u(rng), 0.3);
    INFO("case " << c << " n=" << n << " w=" << w << " tau=" << tau);
    CHECK(accept_index(WindowMeanSwitch(tau, w), p) == spec_accept_index(p, tau, w));
  }
}

TEST_CASE("the fixed-length rule keeps exactly its length", "[switch]") {
  CHECK(accept_index(wsd::FixedLengthSwitch(3), std::vector<double>(10, 0.1)) == 2);
  CHECK(accept_index(wsd::FixedLengthSwitch(30), std::vector<double>(10, 0.1)) == 9);
  CHECK(accept_index(wsd::FixedLengthSwitch(0), std::vector<double>(10, 0.1)) == -1);
}

TEST_CASE("never-switch keeps the whole draft, immediate switch keeps none", "[switch]") {
  CHECK(accept_index(wsd::NeverSwitch{}, std::vector<double>(5, 1.0)) == 4);
  CHECK(accept_index(wsd::ImmediateSwitch{}, std::vector<double>(5, 1.0)) == -1);
}

TEST_CASE("every bundled rule satisfies the SwitchPolicy concept", "[switch]") {
  STATIC_REQUIRE(wsd::SwitchPolicy<WindowMeanSwitch>);
  STATIC_REQUIRE(wsd::SwitchPolicy<wsd::FixedLengthSwitch>);
  STATIC_REQUIRE(wsd::SwitchPolicy<wsd::NeverSwitch>);
  STATIC_REQUIRE(wsd::SwitchPolicy<wsd::ImmediateSwitch>);
  STATIC_REQUIRE_FALSE(wsd::SwitchPolicy<int>);
}
