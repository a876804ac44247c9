// The two-level percentile bootstrap (eval/bootstrap.h) and the sign-flip permutation test
// (eval/sign_flip_test.h) on cases whose answers can be checked by hand.
#include "eval/bootstrap.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/rng.h"
#include "eval/sign_flip_test.h"

namespace lethe::eval {
namespace {

TEST(Bootstrap, QuantileInterpolatesLikeNumpy) {
  // numpy.quantile([1, 2, 3, 4], q): 0.25 -> 1.75, 0.5 -> 2.5, 1 -> 4.
  EXPECT_DOUBLE_EQ(quantile({4, 1, 3, 2}, 0.25), 1.75);
  EXPECT_DOUBLE_EQ(quantile({4, 1, 3, 2}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(quantile({4, 1, 3, 2}, 1.0), 4.0);
  EXPECT_DOUBLE_EQ(quantile({7}, 0.975), 7.0);
  EXPECT_THROW(quantile({}, 0.5), std::exception);
}

TEST(Bootstrap, ConstantValuesGiveAZeroWidthInterval) {
  const Interval i = bootstrap_mean(std::vector<double>(40, 0.7), {});
  EXPECT_DOUBLE_EQ(i.mean, 0.7);
  EXPECT_DOUBLE_EQ(i.lo, 0.7);
  EXPECT_DOUBLE_EQ(i.hi, 0.7);
}

TEST(Bootstrap, SameSeedSameIntervalOtherSeedOther) {
  std::vector<double> values;
  for (int i = 0; i < 50; ++i) values.push_back(std::sin(i * 1.3));
  BootstrapOptions a;
  a.seed = 11;
  const Interval x = bootstrap_mean(values, a), y = bootstrap_mean(values, a);
  EXPECT_EQ(x.lo, y.lo);
  EXPECT_EQ(x.hi, y.hi);
  a.seed = 12;
  const Interval z = bootstrap_mean(values, a);
  EXPECT_EQ(z.mean, x.mean);
  EXPECT_NE(z.lo, x.lo);
  EXPECT_LT(x.lo, x.mean);
  EXPECT_GT(x.hi, x.mean);
}

TEST(Bootstrap, OneSeedIsThePlainBootstrapOverQuestions) {
  // The documented procedure, by hand: each replicate draws the n questions with SplitMix64Rng.
  const std::vector<double> values = {0.1, 0.9, 0.4, 0.4, 1.0, 0.0, 0.3};
  BootstrapOptions o;
  o.replicates = 500;
  o.seed = 3;
  core::SplitMix64Rng rng(o.seed);
  std::vector<double> means;
  for (int b = 0; b < o.replicates; ++b) {
    double sum = 0;
    for (size_t i : resample_indices(values.size(), rng)) sum += values[i];
    means.push_back(sum / values.size());
  }
  const Interval i = bootstrap_mean(values, o);
  EXPECT_DOUBLE_EQ(i.lo, quantile(means, 0.025));
  EXPECT_DOUBLE_EQ(i.hi, quantile(means, 0.975));
  EXPECT_NEAR(i.mean, 3.1 / 7, 1e-12);
}

TEST(Bootstrap, HalfZerosHalfOnesGiveTheNormalWidth) {
  // Mean 0.5, standard error sqrt(0.25 / 100) = 0.05: the 95% interval is about 0.5 +- 0.098.
  std::vector<double> values(100, 0.0);
  for (size_t i = 0; i < 50; ++i) values[i] = 1.0;
  const Interval i = bootstrap_mean(values, {});
  EXPECT_DOUBLE_EQ(i.mean, 0.5);
  EXPECT_NEAR(i.lo, 0.402, 0.015);
  EXPECT_NEAR(i.hi, 0.598, 0.015);
}

TEST(Bootstrap, SeedLevelOnlyQuantityDrawsSeeds) {
  // Two seeds with values 1 and 3 and no questions: a replicate's mean is 1, 2 or 3 with
  // probability 1/4, 1/2, 1/4, so the 2.5% and 97.5% quantiles are 1 and 3; the point is 2.
  const auto stat = [](size_t seed, const Picks&) { return std::vector<double>{seed ? 3.0 : 1.0}; };
  const auto i = two_level_bootstrap({{}, {}}, 1, stat, {})[0];
  EXPECT_DOUBLE_EQ(i.mean, 2.0);
  EXPECT_DOUBLE_EQ(i.lo, 1.0);
  EXPECT_DOUBLE_EQ(i.hi, 3.0);
}

TEST(Bootstrap, UndefinedValuesAreLeftOut) {
  // Quantity 0 is undefined for seed 1: its mean and interval come from seed 0 alone; quantity 1
  // is undefined everywhere.
  const auto stat = [](size_t seed, const Picks&) {
    return std::vector<double>{seed ? NAN : 5.0, NAN};
  };
  const auto i = two_level_bootstrap({{3}, {3}}, 2, stat, {});
  EXPECT_DOUBLE_EQ(i[0].mean, 5.0);
  EXPECT_DOUBLE_EQ(i[0].lo, 5.0);
  EXPECT_DOUBLE_EQ(i[0].hi, 5.0);
  EXPECT_TRUE(std::isnan(i[1].mean));
  EXPECT_TRUE(std::isnan(i[1].lo));
}

TEST(Bootstrap, StrataAreDrawnSeparately) {
  // Stratum 0 holds 4 questions of value 0, stratum 1 six of value 1: drawn per stratum, every
  // resample keeps both sizes and the difference of the means is exactly 1.
  const std::vector<double> v0(4, 0.0), v1(6, 1.0);
  const auto stat = [&](size_t, const Picks& p) {
    EXPECT_EQ(p[0].size(), 4u);
    EXPECT_EQ(p[1].size(), 6u);
    double a = 0, b = 0;
    for (size_t i : p[0]) a += v0.at(i);
    for (size_t i : p[1]) b += v1.at(i);
    return std::vector<double>{b / 6 - a / 4};
  };
  const auto i = two_level_bootstrap({{4, 6}}, 1, stat, {})[0];
  EXPECT_DOUBLE_EQ(i.lo, 1.0);
  EXPECT_DOUBLE_EQ(i.hi, 1.0);
}

TEST(SignFlip, ThreePairsEnumeratedByHand) {
  // Sums of +-1 +-2 +-3: 6, 4, 2, 0, 0, -2, -4, -6; |sum| >= 6 in 2 of 8.
  const auto r = sign_flip_test({1, 2, 3});
  EXPECT_TRUE(r.exact);
  EXPECT_EQ(r.n, 3);
  EXPECT_DOUBLE_EQ(r.mean, 2.0);
  EXPECT_DOUBLE_EQ(r.p_value, 0.25);
}

TEST(SignFlip, FourPairsEnumeratedByHand) {
  // +-0.5 +-1 +-1.5 +-2 reaches |sum| = 5 only with all signs equal: 2 of 16. Observed 3: a flipped
  // set S gives |5 - 2 sum(S)| >= 3 iff sum(S) <= 1 ({}, {0.5}, {1}) or sum(S) >= 4 ({0.5, 1.5, 2},
  // {1, 1.5, 2}, all): 6 of 16.
  EXPECT_DOUBLE_EQ(sign_flip_test({0.5, 1, 1.5, 2}).p_value, 2.0 / 16);
  EXPECT_DOUBLE_EQ(sign_flip_test({0.5, -1, 1.5, 2}).p_value, 6.0 / 16);
}

TEST(SignFlip, BalancedDifferencesGiveOne) {
  EXPECT_DOUBLE_EQ(sign_flip_test({1, -1}).p_value, 1.0);
  EXPECT_DOUBLE_EQ(sign_flip_test({}).p_value, 1.0);
}

TEST(SignFlip, MonteCarloBeyondTheExactLimit) {
  // 16 equal differences: exactly 2 / 2^16. 20: Monte Carlo, (1 + hits) / (1 + draws) with hits
  // almost surely 0 (2 / 2^20 per draw).
  EXPECT_DOUBLE_EQ(sign_flip_test(std::vector<double>(16, 1.0)).p_value, 2.0 / 65536);
  const auto r = sign_flip_test(std::vector<double>(20, 1.0), 1, 1000);
  EXPECT_FALSE(r.exact);
  EXPECT_DOUBLE_EQ(r.p_value, 1.0 / 1001);
  EXPECT_EQ(sign_flip_test(std::vector<double>(20, 1.0), 1, 1000).p_value, r.p_value);
}

}  // namespace
}  // namespace lethe::eval
