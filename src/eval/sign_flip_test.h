// The paired sign-flip permutation test (Fisher 1935; Good, "Permutation, Parametric and Bootstrap
// Tests of Hypotheses", 3rd ed., sec. 3.6.2): for n paired differences d_i, H0 says each d_i is
// symmetric about 0, so flipping its sign leaves the distribution of the mean unchanged.
#pragma once
#include <cstdint>
#include <vector>

namespace lethe::eval {

struct SignFlipResult {
  double mean = 0.0;     // the observed mean difference
  double p_value = 1.0;  // two-sided
  int64_t n = 0;
  bool exact = true;  // every 2^n sign assignment enumerated (else Monte Carlo)
};

// Two-sided p-value: the share of sign assignments whose |mean| is at least the observed |mean|
// (the observed assignment included). Exact over all 2^n assignments for n <= kExactMaxPairs;
// beyond, `draws` random assignments from core::SplitMix64Rng(seed), p = (1 + hits) / (1 + draws).
// Empty differences: p = 1.
inline constexpr int64_t kExactMaxPairs = 16;
SignFlipResult sign_flip_test(const std::vector<double>& differences, uint64_t seed = 0,
                              int64_t draws = 100000);

}  // namespace lethe::eval
