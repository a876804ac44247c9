// KS test parity with scipy 1.10 ks_2samp (fixtures/metrics/ks_cases.jsonl) and kstwo.sf.
#include "eval/ks_test.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/json_io.h"
#include "eval/kolmogorov.h"
#include "expect_close.h"
#include "lethe_source_dir.h"

namespace lethe {

TEST(KsTest, MatchesScipyFixtures) {
  auto records = core::read_jsonl(test::fixture_path("metrics/ks_cases.jsonl"));
  ASSERT_EQ(records.size(), 20u);
  std::vector<double> stat_got, stat_want, p_got, p_want;
  for (const auto& r : records) {
    auto result =
        eval::ks_2samp(r["a"].get<std::vector<double>>(), r["b"].get<std::vector<double>>());
    EXPECT_EQ(result.method, "exact");
    stat_got.push_back(result.statistic);
    stat_want.push_back(r["statistic"].get<double>());
    p_got.push_back(result.pvalue);
    p_want.push_back(r["pvalue"].get<double>());
  }
  EXPECT_CLOSE("statistic", stat_got, stat_want, 1e-12);
  EXPECT_CLOSE("pvalue", p_got, p_want, 0.0, 1e-9);
}

TEST(KsTest, StatisticSignAndLocation) {
  // a entirely below b: F_a - F_b reaches +1 at a's maximum.
  auto r = eval::ks_2samp({1, 2, 3}, {4, 5, 6, 7});
  EXPECT_DOUBLE_EQ(r.statistic, 1.0);
  EXPECT_EQ(r.sign, 1);
  EXPECT_DOUBLE_EQ(r.location, 3.0);
  // P(D_{3,4} = 1) = 2 / C(7, 3) = 2/35.
  EXPECT_NEAR(r.pvalue, 2.0 / 35.0, 1e-15);
  // Equal sizes, h = 1: exact p = 1 (scipy); the first arg-max of the rounded CDF differences is
  // at 4.
  auto shifted = eval::ks_2samp({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
                                {0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5, 10.5, 11.5});
  EXPECT_EQ(shifted.method, "exact");
  EXPECT_EQ(shifted.pvalue, 1.0);
  EXPECT_EQ(shifted.location, 4.0);
  auto s = eval::ks_2samp({4, 5, 6, 7}, {1, 2, 3});
  EXPECT_EQ(s.sign, -1);
  EXPECT_NEAR(s.pvalue, 2.0 / 35.0, 1e-15);
  // Identical samples: D = 0, p = 1.
  EXPECT_DOUBLE_EQ(eval::ks_2samp({1, 2, 2, 3}, {3, 2, 1, 2}).pvalue, 1.0);
}

TEST(KsTest, AsymptoticPathMatchesScipy) {
  // Deterministic samples (only * and fmod, so numpy and C++ agree bit for bit); expected values
  // from scipy 1.10.1 ks_2samp: the first three exceed 10000 (asymptotic), the others are
  // equal-size samples whose exact value rounds above 1 so scipy falls back to kstwo.sf.
  auto a = [](int n) {
    std::vector<double> v(n);
    for (int i = 0; i < n; ++i) v[i] = std::fmod(i * 0.7548776662466927, 1.0);
    return v;
  };
  auto b = [](int n) {
    std::vector<double> v(n);
    for (int i = 0; i < n; ++i) v[i] = std::fmod(i * 0.5698402909980532, 1.0) * 0.97 + 0.02;
    return v;
  };
  struct Case {
    std::vector<double> a, b;
    double statistic, pvalue;
  };
  auto shifted = [](int n, double shift) {
    std::vector<double> v(n);
    for (int i = 0; i < n; ++i) v[i] = i + shift;
    return v;
  };
  auto b60 = shifted(60, 0.5);
  b60[0] = -1, b60[1] = -0.5;
  std::vector<Case> cases = {
      {a(12000), b(15000), 0.020116666666666668, 0.008945741113540044},
      {a(10001), b(30), 0.09641369196413685, 0.9179312554659428},
      {a(20000), b(20000), 0.020050000000000002, 0.0006356828723877914},
      {shifted(7, 0), shifted(7, 0.5), 0.14285714285714285, 0.9999609537692629},
      {shifted(60, 0), b60, 0.03333333333333333, 0.9999999999987117},
  };
  for (const auto& c : cases) {
    auto r = eval::ks_2samp(c.a, c.b);
    EXPECT_EQ(r.method, "asymp") << c.a.size() << " vs " << c.b.size();
    EXPECT_NEAR(r.statistic, c.statistic, 1e-12) << c.a.size() << " vs " << c.b.size();
    EXPECT_NEAR(r.pvalue, c.pvalue, 1e-9 * c.pvalue) << c.a.size() << " vs " << c.b.size();
  }
}

TEST(Kolmogorov, MatchesScipyKstwoSf) {
  // scipy 1.10.1 scipy.stats.kstwo.sf(x, n), one case per branch of _kolmogn.
  struct Case {
    int64_t n;
    double x, sf;
  };
  const std::vector<Case> cases = {
      {5, 0.05, 1.0},
      {5, 0.15, 0.9988},
      {5, 0.3, 0.664},
      {5, 0.6, 0.03008000000000001},
      {5, 0.9, 1.9999999999999978e-05},
      {10, 0.08, 0.9999978058034054},
      {40, 0.1, 0.7818109707182903},
      {40, 0.2, 0.07048187616884194},
      {100, 0.05, 0.9532159710635725},
      {100, 0.15, 0.019839242125643017},
      {100, 0.25, 5.408871776434847e-06},
      {100, 0.4, 5.947617451361663e-15},
      {140, 0.12, 0.03252638258561632},
      {141, 0.2, 2.0276784223976912e-05},
      {200, 0.003, 1.0},
      {200, 0.006, 1.0},
      {200, 0.05, 0.6802625495871704},
      {200, 0.12, 0.005745760601982814},
      {500, 0.02, 0.9859871786857471},
      {1000, 0.01, 0.9999496745370611},
      {1000, 0.03, 0.3226902143914636},
      {1000, 0.05, 0.013012074781090332},
      {5000, 0.01, 0.6954557253913853},
      {5000, 0.02, 0.03613941395325637},
      {20000, 0.004, 0.9048968240702959},
      {120000, 0.002, 0.7223568874535209},
      {200000, 0.003, 0.0545369786611305},
      {1000, 0.6, 0.0},
      {3000, 0.9995, 0.0},
  };
  std::vector<double> got, want;
  for (const auto& c : cases) {
    got.push_back(eval::kolmogorov_sf(c.n, c.x));
    want.push_back(c.sf);
  }
  EXPECT_CLOSE("kstwo.sf", got, want, 1e-300, 1e-9);
}

TEST(Kolmogorov, MatchesScipyOnRandomGrid) {
  // 375 random (n, x) with scipy's kstwo.sf (tests/eval/data); worst relative error seen: 3.4e-10,
  // for n > 1e5 on the 2 * smirnov branch (log-binomials of large n).
  std::ifstream in(std::string(LETHE_SOURCE_DIR) + "/tests/eval/data/kstwo_sf_scipy_1_10.txt");
  ASSERT_TRUE(in.good());
  std::string line;
  std::vector<double> got, want;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    int64_t n;
    double x, sf;
    ASSERT_TRUE(fields >> n >> x >> sf) << line;
    got.push_back(eval::kolmogorov_sf(n, x));
    want.push_back(sf);
  }
  EXPECT_GT(got.size(), 300u);
  EXPECT_CLOSE("kstwo.sf grid", got, want, 1e-15, 1e-9);
}

TEST(KsTest, RejectsEmptyAndNonFiniteSamples) {
  EXPECT_THROW(eval::ks_2samp({}, {1.0}), Error);
  EXPECT_THROW(eval::ks_2samp({1.0, NAN}, {1.0}), Error);
}

}  // namespace lethe
