// The summary table of `lethe run` (see summary.h).
#include "pipeline/summary.h"

#include <cmath>
#include <cstdio>

namespace lethe::pipeline {

using json = nlohmann::json;

static double number(const json& object, const std::string& a, const std::string& b = "") {
  if (!object.is_object() || !object.contains(a)) return NAN;
  const json& v = b.empty() ? object[a] : object[a].value(b, json());
  return v.is_number() ? v.get<double>() : NAN;
}

std::vector<SummaryRow> summary_rows(const json& eval_results) {
  std::vector<SummaryRow> rows;
  if (!eval_results.is_object() || !eval_results.contains("models")) return rows;
  for (auto it = eval_results["models"].begin(); it != eval_results["models"].end(); ++it) {
    const json agg = it.value().value("aggregates", json::object());
    SummaryRow r;
    r.model = it.key();
    r.retain_correlated = number(agg, "retain_correlated", "rouge_l_recall");
    r.retain_other = number(agg, "retain_other", "rouge_l_recall");
    r.retain_gap = number(agg, "retain_gap", "rouge_l_recall");
    if (std::isnan(r.retain_gap)) r.retain_gap = r.retain_other - r.retain_correlated;
    r.forget_rouge_l = number(agg, "forget", "rouge_l_recall");
    r.forget_truth_ratio = number(agg, "forget", "truth_ratio");
    r.forget_quality = number(agg, "forget_quality");
    r.model_utility = number(agg, "model_utility");
    rows.push_back(r);
  }
  return rows;
}

static std::string cell(double v, bool scientific = false) {
  if (std::isnan(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, scientific && v < 1e-3 && v > 0 ? "%.2e" : "%.3f", v);
  return buf;
}

std::string format_summary(const std::vector<SummaryRow>& rows) {
  size_t width = 5;
  for (const auto& r : rows) width = std::max(width, r.model.size());
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-*s  %9s  %9s  %7s  %9s  %8s  %9s  %7s\n",
                static_cast<int>(width), "model", "corr_RL", "other_RL", "gap", "forget_RL",
                "forget_TR", "forget_Q", "utility");
  out += line;
  out += std::string(width + 2 + 9 + 2 + 9 + 2 + 7 + 2 + 9 + 2 + 8 + 2 + 9 + 2 + 7, '-') + "\n";
  for (const auto& r : rows) {
    std::snprintf(line, sizeof line, "%-*s  %9s  %9s  %7s  %9s  %8s  %9s  %7s\n",
                  static_cast<int>(width), r.model.c_str(), cell(r.retain_correlated).c_str(),
                  cell(r.retain_other).c_str(), cell(r.retain_gap).c_str(),
                  cell(r.forget_rouge_l).c_str(), cell(r.forget_truth_ratio).c_str(),
                  cell(r.forget_quality, true).c_str(), cell(r.model_utility).c_str());
    out += line;
  }
  out +=
      "corr/other_RL: ROUGE-L recall on correlated / other retain questions; gap = other - corr "
      "(> 0: collateral damage on correlated facts); TR: truth ratio; Q: forget quality (KS "
      "p-value vs retain-only)\n";
  return out;
}

}  // namespace lethe::pipeline
