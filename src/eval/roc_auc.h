// ROC AUC of a membership score (higher = "member") and MUSE's PrivLeak; no torch, no
// thresholds/curves.
#pragma once
#include <vector>

namespace lethe::eval {

// P(score_member > score_nonmember) + 1/2 P(equal) = the Mann-Whitney U / (n1 n0), i.e. sklearn's
// roc_auc_score(labels, scores) with members labelled 1. Throws when a side is empty or a score is
// NaN.
double roc_auc(const std::vector<double>& member_scores,
               const std::vector<double>& nonmember_scores);

// MUSE (Shi et al. 2024): PrivLeak = (AUC_unlearned - AUC_retain) / AUC_retain, both AUCs of forget
// (members) vs holdout (non-members); ~0 is ideal, < 0 over-unlearning, > 0 under-unlearning.
double privleak(double auc_unlearned, double auc_retain);

}  // namespace lethe::eval
