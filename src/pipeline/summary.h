// The end-of-run summary table (per model: correlated and other retain ROUGE-L and their gap,
// forget ROUGE-L, truth ratio, forget quality, model utility), as in the original study.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lethe::pipeline {

struct SummaryRow {
  std::string model;
  double retain_correlated = NAN, retain_other = NAN, retain_gap = NAN;  // ROUGE-L recall
  double forget_rouge_l = NAN, forget_truth_ratio = NAN, forget_quality = NAN, model_utility = NAN;
};

// One row per model of eval_results.json, in file order (missing metrics are NaN).
std::vector<SummaryRow> summary_rows(const nlohmann::json& eval_results);

// Fixed-width text table ("-" for a missing value).
std::string format_summary(const std::vector<SummaryRow>& rows);

}  // namespace lethe::pipeline
