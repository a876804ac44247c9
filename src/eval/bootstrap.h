// Percentile bootstrap intervals (Efron & Tibshirani 1993, ch. 13) over questions within a seed and
// over seeds: a two-level (hierarchical) bootstrap, deterministic through core::SplitMix64Rng. The
// caller says which statistic to recompute on each resample; no metric is named here.
#pragma once
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "core/rng.h"

namespace lethe::eval {

// A point estimate and its percentile interval; NaN where undefined.
struct Interval {
  double mean = std::numeric_limits<double>::quiet_NaN();
  double lo = std::numeric_limits<double>::quiet_NaN();
  double hi = std::numeric_limits<double>::quiet_NaN();
};

struct BootstrapOptions {
  int64_t replicates = 2000;
  double level = 0.95;  // the interval is the (1-level)/2 and (1+level)/2 quantiles
  uint64_t seed = 0;    // the resampling RNG's seed
};

// The q-quantile (0 <= q <= 1) with linear interpolation between order statistics (numpy's
// default); values must not be empty.
double quantile(std::vector<double> values, double q);

// n indices drawn uniformly from [0, n) with replacement.
std::vector<size_t> resample_indices(size_t n, core::SplitMix64Rng& rng);

// One resample of a seed's questions: picks[k] are the drawn question indices of stratum k (a QA
// set such as forget or retain_correlated), as many as the stratum has questions.
using Picks = std::vector<std::vector<size_t>>;

// The values of every quantity for seed `seed` on the questions `picks`; NaN: undefined there.
using SeedStatistic = std::function<std::vector<double>(size_t seed, const Picks& picks)>;

// Two-level percentile bootstrap of `n_values` quantities. strata_sizes[s][k] is the number of
// questions of stratum k in seed s. Point estimate: the mean over seeds of stat(s, every question
// once). Each replicate draws as many seeds as there are with replacement, and for each drawn seed
// draws every stratum's questions with replacement (the same picks for every quantity, so
// differences between models stay paired), and takes the mean over the drawn seeds of stat; the
// interval is the percentile interval of the replicates. NaN values are left out of each mean; a
// quantity with no finite replicate has a NaN interval. With one seed this is the ordinary
// bootstrap over questions.
std::vector<Interval> two_level_bootstrap(const std::vector<std::vector<size_t>>& strata_sizes,
                                          size_t n_values, const SeedStatistic& stat,
                                          const BootstrapOptions& options);

// The mean of `values` with its percentile bootstrap interval (one seed, one stratum).
Interval bootstrap_mean(const std::vector<double>& values, const BootstrapOptions& options);

}  // namespace lethe::eval
