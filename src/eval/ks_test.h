// Two-sample Kolmogorov-Smirnov test with the semantics of scipy 1.10 scipy.stats.ks_2samp(a, b)
// (alternative='two-sided', method='auto'). TOFU's Forget Quality is its p-value. One-sided tests:
// not here.
#pragma once
#include <string>
#include <vector>

namespace lethe::eval {

struct KsResult {
  double statistic =
      0.0;  // D = sup |F_a - F_b|, rounded to a multiple of 1/lcm(n1, n2) on the exact path
  double pvalue = 1.0;
  double location = 0.0;  // the value at which D is attained
  int sign = 1;           // +1 when F_a - F_b is largest there, -1 when F_b - F_a is
  std::string method;     // "exact" or "asymp"
};

// Exact when max(n1, n2) <= 10000 (lattice-path counting), else -- or when the exact value is not a
// probability -- kstwo.sf(D, round(n1 n2 / (n1 + n2))). Throws lethe::Error on an empty or
// non-finite sample.
KsResult ks_2samp(std::vector<double> a, std::vector<double> b);

// P(D_{n,n} >= h/n) for two samples of equal size n (scipy's _compute_prob_outside_square).
double ks_prob_outside_square(long n, long h);

// P(D_{m,n} >= h/lcm(m,n)) by Viehmann's stable recursion (scipy's
// _compute_outer_prob_inside_method).
double ks_outer_prob_inside(long m, long n, long g, long h);

}  // namespace lethe::eval
