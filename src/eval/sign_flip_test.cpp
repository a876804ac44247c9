// The paired sign-flip permutation test (sign_flip_test.h).
#include "eval/sign_flip_test.h"

#include <cmath>

#include "core/error.h"
#include "core/rng.h"

namespace lethe::eval {

SignFlipResult sign_flip_test(const std::vector<double>& d, uint64_t seed, int64_t draws) {
  SignFlipResult r;
  r.n = static_cast<int64_t>(d.size());
  if (d.empty()) return r;
  for (double x : d) LETHE_CHECK(std::isfinite(x), "sign_flip_test: a difference is not finite");
  double sum = 0.0, scale = 0.0;
  for (double x : d) sum += x, scale += std::fabs(x);
  r.mean = sum / static_cast<double>(d.size());
  // Sums equal to the observed one up to rounding count as ties (>=), not as smaller.
  const double observed = std::fabs(sum) - 1e-12 * scale;
  auto flipped_sum = [&](auto&& negative) {
    double s = 0.0;
    for (size_t i = 0; i < d.size(); ++i) s += negative(i) ? -d[i] : d[i];
    return std::fabs(s);
  };
  if (r.n <= kExactMaxPairs) {
    const uint64_t total = uint64_t{1} << r.n;
    uint64_t hits = 0;
    for (uint64_t mask = 0; mask < total; ++mask)
      if (flipped_sum([&](size_t i) { return (mask >> i) & 1; }) >= observed) ++hits;
    r.p_value = static_cast<double>(hits) / static_cast<double>(total);
    return r;
  }
  LETHE_CHECK(draws >= 1, "sign_flip_test: draws must be >= 1, got ", draws);
  core::SplitMix64Rng rng(seed);
  int64_t hits = 0;
  std::vector<bool> negative(d.size());
  for (int64_t b = 0; b < draws; ++b) {
    for (size_t i = 0; i < d.size(); ++i) negative[i] = rng.below(2) == 1;
    if (flipped_sum([&](size_t i) { return negative[i]; }) >= observed) ++hits;
  }
  r.exact = false;
  r.p_value = static_cast<double>(1 + hits) / static_cast<double>(1 + draws);
  return r;
}

}  // namespace lethe::eval
