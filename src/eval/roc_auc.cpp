// ROC AUC by mid-ranks (ties count 1/2) in O(n log n), and MUSE's PrivLeak.
#include "eval/roc_auc.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/error.h"

namespace lethe::eval {

double roc_auc(const std::vector<double>& member_scores,
               const std::vector<double>& nonmember_scores) {
  LETHE_CHECK(!member_scores.empty() && !nonmember_scores.empty(),
              "roc_auc: need at least one member and one non-member (got ", member_scores.size(),
              " and ", nonmember_scores.size(), ")");
  std::vector<std::pair<double, bool>> all;  // (score, is_member)
  for (double s : member_scores) all.emplace_back(s, true);
  for (double s : nonmember_scores) all.emplace_back(s, false);
  for (const auto& [s, member] : all) LETHE_CHECK(!std::isnan(s), "roc_auc: score is NaN");
  std::sort(all.begin(), all.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  // Sum of the members' mid-ranks (1-based), then U = rank_sum - n1 (n1 + 1) / 2.
  double rank_sum = 0.0;
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    while (j < all.size() && all[j].first == all[i].first) ++j;
    double mid_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (size_t k = i; k < j; ++k)
      if (all[k].second) rank_sum += mid_rank;
    i = j;
  }
  double n1 = static_cast<double>(member_scores.size()),
         n0 = static_cast<double>(nonmember_scores.size());
  return (rank_sum - n1 * (n1 + 1) / 2.0) / (n1 * n0);
}

double privleak(double auc_unlearned, double auc_retain) {
  LETHE_CHECK(auc_retain > 0.0, "privleak: the retain model's AUC must be > 0, got ", auc_retain);
  return (auc_unlearned - auc_retain) / auc_retain;
}

}  // namespace lethe::eval
