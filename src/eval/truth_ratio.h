// TOFU's probability-based metrics from mean token NLLs (Maini et al. 2024, TOFU's
// aggregate_stat_eval.py): answer probability, truth ratio and its forget/retain aggregations,
// Forget Quality, Model Utility.
#pragma once
#include <string>
#include <vector>

namespace lethe::eval {

enum class TruthRatioMode { kForget, kRetain };

// "forget" or "retain" (utility sets aggregate like retain); throws listing the valid names.
TruthRatioMode parse_truth_ratio_mode(const std::string& name);

// exp(-nll) for a mean token NLL.
double answer_probability(double mean_nll);

// TOFU's real-authors / world-facts form: p(true) / (p(true) + sum_k p(false_k)), p = exp(-mean
// NLL).
double normalized_answer_probability(double true_nll, const std::vector<double>& false_nlls);

// r = exp(mean_k nll(perturbed_k) - nll(paraphrased)); r > 1 when the paraphrased answer is
// likelier.
double truth_ratio(double paraphrased_nll, const std::vector<double>& perturbed_nlls);

// Per-question score TOFU averages: forget min(r, 1/r); retain max(0, 1 - 1/r).
double truth_ratio_score(double ratio, TruthRatioMode mode);

// Mean of truth_ratio_score over questions; throws on an empty list.
double truth_ratio_aggregate(const std::vector<double>& ratios, TruthRatioMode mode);

// TOFU Forget Quality: ks_2samp(unlearned forget-set truth ratios, retain-only model's).pvalue.
double forget_quality(const std::vector<double>& ratios_unlearned,
                      const std::vector<double>& ratios_retain_model);

// TOFU Model Utility: harmonic mean of the components (scipy.stats.hmean); 0 when any is 0.
// Components must be >= 0 and there must be at least one.
double model_utility(const std::vector<double>& components);

}  // namespace lethe::eval
