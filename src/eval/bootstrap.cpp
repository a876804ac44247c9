// The two-level percentile bootstrap (bootstrap.h).
#include "eval/bootstrap.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace lethe::eval {

double quantile(std::vector<double> values, double q) {
  LETHE_CHECK(!values.empty(), "quantile: no values");
  LETHE_CHECK(q >= 0.0 && q <= 1.0, "quantile: q must be in [0, 1], got ", q);
  std::sort(values.begin(), values.end());
  const double pos = q * static_cast<double>(values.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(pos));
  const size_t above = std::min(below + 1, values.size() - 1);
  const double frac = pos - static_cast<double>(below);
  return values[below] + frac * (values[above] - values[below]);
}

std::vector<size_t> resample_indices(size_t n, core::SplitMix64Rng& rng) {
  std::vector<size_t> out(n);
  for (auto& i : out) i = static_cast<size_t>(rng.below(n));
  return out;
}

namespace {

// Mean of the finite entries of column v over rows; NaN when there is none.
struct MeanAccumulator {
  std::vector<double> sum;
  std::vector<int64_t> count;
  explicit MeanAccumulator(size_t n) : sum(n, 0.0), count(n, 0) {}
  void add(const std::vector<double>& values) {
    for (size_t v = 0; v < sum.size() && v < values.size(); ++v)
      if (std::isfinite(values[v])) sum[v] += values[v], ++count[v];
  }
  double mean(size_t v) const {
    return count[v] ? sum[v] / static_cast<double>(count[v])
                    : std::numeric_limits<double>::quiet_NaN();
  }
};

Picks identity_picks(const std::vector<size_t>& sizes) {
  Picks picks(sizes.size());
  for (size_t k = 0; k < sizes.size(); ++k) {
    picks[k].resize(sizes[k]);
    std::iota(picks[k].begin(), picks[k].end(), size_t{0});
  }
  return picks;
}

}  // namespace

std::vector<Interval> two_level_bootstrap(const std::vector<std::vector<size_t>>& strata_sizes,
                                          size_t n_values, const SeedStatistic& stat,
                                          const BootstrapOptions& options) {
  LETHE_CHECK(!strata_sizes.empty(), "bootstrap: no seeds");
  LETHE_CHECK(options.replicates >= 1, "bootstrap: replicates must be >= 1, got ",
              options.replicates);
  LETHE_CHECK(options.level > 0.0 && options.level < 1.0,
              "bootstrap: level must be in (0, 1), got ", options.level);
  const size_t n_seeds = strata_sizes.size();
  std::vector<Interval> out(n_values);
  MeanAccumulator point(n_values);
  for (size_t s = 0; s < n_seeds; ++s) point.add(stat(s, identity_picks(strata_sizes[s])));
  for (size_t v = 0; v < n_values; ++v) out[v].mean = point.mean(v);

  core::SplitMix64Rng rng(options.seed);
  std::vector<std::vector<double>> replicates(n_values);
  for (auto& r : replicates) r.reserve(static_cast<size_t>(options.replicates));
  for (int64_t b = 0; b < options.replicates; ++b) {
    MeanAccumulator acc(n_values);
    for (size_t draw = 0; draw < n_seeds; ++draw) {
      // With one seed the outer level has nothing to draw (and draws nothing, so the inner
      // resamples match a plain bootstrap with the same RNG seed).
      const size_t s = n_seeds == 1 ? 0 : static_cast<size_t>(rng.below(n_seeds));
      Picks picks(strata_sizes[s].size());
      for (size_t k = 0; k < picks.size(); ++k)
        picks[k] = resample_indices(strata_sizes[s][k], rng);
      acc.add(stat(s, picks));
    }
    for (size_t v = 0; v < n_values; ++v) {
      const double m = acc.mean(v);
      if (std::isfinite(m)) replicates[v].push_back(m);
    }
  }
  const double tail = (1.0 - options.level) / 2.0;
  for (size_t v = 0; v < n_values; ++v) {
    if (replicates[v].empty() || !std::isfinite(out[v].mean)) continue;
    out[v].lo = quantile(replicates[v], tail);
    out[v].hi = quantile(replicates[v], 1.0 - tail);
  }
  return out;
}

Interval bootstrap_mean(const std::vector<double>& values, const BootstrapOptions& options) {
  const auto stat = [&](size_t, const Picks& picks) {
    double sum = 0.0;
    for (size_t i : picks[0]) sum += values[i];
    return std::vector<double>{picks[0].empty() ? std::numeric_limits<double>::quiet_NaN()
                                                : sum / static_cast<double>(picks[0].size())};
  };
  return two_level_bootstrap({{values.size()}}, 1, stat, options)[0];
}

}  // namespace lethe::eval
