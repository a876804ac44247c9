// Formulas of TOFU's aggregate_stat_eval.py (get_model_utility, get_forget_quality) on mean token
// NLLs.
#include "eval/truth_ratio.h"

#include <cmath>
#include <numeric>

#include "core/error.h"
#include "eval/ks_test.h"

namespace lethe::eval {

TruthRatioMode parse_truth_ratio_mode(const std::string& name) {
  if (name == "forget") return TruthRatioMode::kForget;
  if (name == "retain") return TruthRatioMode::kRetain;
  LETHE_FAIL("unknown truth-ratio mode '", name, "' (valid: forget, retain)");
}

double answer_probability(double mean_nll) { return std::exp(-mean_nll); }

double normalized_answer_probability(double true_nll, const std::vector<double>& false_nlls) {
  double p_true = std::exp(-true_nll), total = p_true;
  for (double nll : false_nlls) total += std::exp(-nll);
  return p_true / total;
}

double truth_ratio(double paraphrased_nll, const std::vector<double>& perturbed_nlls) {
  LETHE_CHECK(!perturbed_nlls.empty(), "truth_ratio: no perturbed answers");
  double mean_perturbed =
      std::accumulate(perturbed_nlls.begin(), perturbed_nlls.end(), 0.0) / perturbed_nlls.size();
  return std::exp(mean_perturbed - paraphrased_nll);
}

double truth_ratio_score(double ratio, TruthRatioMode mode) {
  if (mode == TruthRatioMode::kForget) return std::min(ratio, 1.0 / ratio);
  return std::max(0.0, 1.0 - 1.0 / ratio);
}

double truth_ratio_aggregate(const std::vector<double>& ratios, TruthRatioMode mode) {
  LETHE_CHECK(!ratios.empty(), "truth_ratio_aggregate: no questions");
  double sum = 0.0;
  for (double r : ratios) sum += truth_ratio_score(r, mode);
  return sum / ratios.size();
}

double forget_quality(const std::vector<double>& ratios_unlearned,
                      const std::vector<double>& ratios_retain_model) {
  return ks_2samp(ratios_unlearned, ratios_retain_model).pvalue;
}

double model_utility(const std::vector<double>& components) {
  LETHE_CHECK(!components.empty(), "model_utility: no components");
  double inverse_sum = 0.0;
  for (double c : components) {
    LETHE_CHECK(std::isfinite(c) && c >= 0.0,
                "model_utility: components must be finite and >= 0, got ", c);
    if (c == 0.0) return 0.0;
    inverse_sum += 1.0 / c;
  }
  return static_cast<double>(components.size()) / inverse_sum;
}

}  // namespace lethe::eval
