// Distribution of the two-sided one-sample Kolmogorov-Smirnov statistic D_n (scipy.stats.kstwo) and
// the one-sided Smirnov tail (scipy.special.smirnov); used by ks_2samp's asymptotic path. No
// inverse, no pdf.
#pragma once
#include <cstdint>

namespace lethe::eval {

// P(D_n^+ >= x): the exact Birnbaum-Tingey sum (scipy.special.smirnov). n >= 1, 0 <= x <= 1.
double smirnov_sf(int64_t n, double x);

// P(D_n >= x) = scipy.stats.kstwo.sf(x, n), following scipy's _kolmogn (Simard & L'Ecuyer 2011):
// Ruben-Gambino tails, 2 * smirnov for x >= 0.5, Durbin matrix (MTW), Pomeranz, Pelz-Good.
double kolmogorov_sf(int64_t n, double x);

}  // namespace lethe::eval
