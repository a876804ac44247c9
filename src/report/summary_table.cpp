// The summary table (summary_table.h), read through the results schema.
#include "report/summary_table.h"

#include <cmath>
#include <cstdio>

#include "eval/results_schema.h"

namespace lethe::report {

namespace k = eval::schema;

const std::vector<SummaryColumn>& summary_columns() {
  static const std::vector<SummaryColumn> columns = {
      {"corr_RL", "retain ROUGE-L (correlated)", &SummaryRow::retain_correlated, false,
       "retain_correlated_rouge_l"},
      {"other_RL", "retain ROUGE-L (other)", &SummaryRow::retain_other, false,
       "retain_other_rouge_l"},
      {"gap", "gap (other − correlated)", &SummaryRow::retain_gap, false, "retain_gap_rouge_l"},
      {"forget_RL", "forget ROUGE-L", &SummaryRow::forget_rouge_l, false, "forget_rouge_l"},
      {"forget_TR", "forget truth ratio", &SummaryRow::forget_truth_ratio, false,
       "forget_truth_ratio"},
      {"forget_Q", "forget quality", &SummaryRow::forget_quality, true, "forget_quality"},
      {"utility", "model utility", &SummaryRow::model_utility, false, "model_utility"}};
  return columns;
}

SummaryRow summary_row(const std::string& model, const json& a) {
  SummaryRow r;
  r.model = model;
  r.retain_correlated = k::set_metric(a, k::kRetainCorrelated, k::kRougeLRecall);
  r.retain_other = k::set_metric(a, k::kRetainOther, k::kRougeLRecall);
  r.retain_gap = k::set_metric(a, k::kRetainGap, k::kRougeLRecall);
  if (!r.retain_gap && r.retain_correlated && r.retain_other)
    r.retain_gap = *r.retain_other - *r.retain_correlated;
  r.forget_rouge_l = k::set_metric(a, k::kForget, k::kRougeLRecall);
  r.forget_truth_ratio = k::set_metric(a, k::kForget, k::kTruthRatio);
  r.forget_quality = k::model_metric(a, k::kForgetQuality);
  r.model_utility = k::model_metric(a, k::kModelUtility);
  return r;
}

std::vector<SummaryRow> summary_rows(const json& eval_results) {
  std::vector<SummaryRow> rows;
  const json* models = k::at(eval_results, {k::kModels});
  if (!models || !models->is_object()) return rows;
  for (const auto& [name, entry] : models->items()) {
    const json* a = k::at(entry, {k::kAggregates});
    rows.push_back(summary_row(name, a ? *a : json::object()));
  }
  return rows;
}

std::vector<SummaryRow> summary_rows(const RunResults& run) {
  std::vector<SummaryRow> rows;
  for (const auto& m : run.models) {
    SummaryRow r = summary_row(m.name, m.aggregates ? *m.aggregates : json::object());
    r.method = m.method;
    r.intensity = m.intensity;
    rows.push_back(r);
  }
  return rows;
}

std::vector<SummaryRow> summary_rows_from_aggregate(const json& aggregate) {
  std::vector<SummaryRow> rows;
  const json* models = k::at(aggregate, {"models"});
  if (!models || !models->is_object()) return rows;
  for (const auto& [name, entry] : models->items()) {
    SummaryRow r;
    r.model = name;
    r.method = entry.value("method", "");
    r.intensity = entry.value("intensity", "");
    for (const auto& c : summary_columns()) {
      const json* q = k::at(entry, {"metrics", c.key});
      if (!q || !q->is_object()) continue;
      eval::Interval i;
      if (auto mean = k::number_at(*q, {"mean"})) r.*(c.value) = i.mean = *mean;
      if (auto lo = k::number_at(*q, {"lo"})) i.lo = *lo;
      if (auto hi = k::number_at(*q, {"hi"})) i.hi = *hi;
      r.intervals[c.key] = i;
    }
    rows.push_back(r);
  }
  return rows;
}

namespace {

std::string number_cell(double v, bool scientific) {
  char buf[64];
  std::snprintf(buf, sizeof buf, scientific && v != 0 && std::fabs(v) < 1e-3 ? "%.2e" : "%.3f", v);
  return buf;
}

}  // namespace

std::string summary_cell(const SummaryRow& row, const SummaryColumn& column) {
  const auto& v = row.*(column.value);
  if (!v || !std::isfinite(*v)) return "-";
  std::string cell = number_cell(*v, column.scientific);
  const auto it = row.intervals.find(column.key);
  if (it != row.intervals.end() && std::isfinite(it->second.lo) && std::isfinite(it->second.hi))
    cell += " [" + number_cell(it->second.lo, column.scientific) + ", " +
            number_cell(it->second.hi, column.scientific) + "]";
  return cell;
}

std::string summary_text(const std::vector<SummaryRow>& rows) {
  int width = 5;
  for (const auto& r : rows) width = std::max(width, static_cast<int>(r.model.size()));
  std::vector<int> widths;
  for (const auto& c : summary_columns()) {
    int w = std::max(9, static_cast<int>(std::string(c.name).size()));
    for (const auto& r : rows) w = std::max(w, static_cast<int>(summary_cell(r, c).size()));
    widths.push_back(w);
  }
  char cell[512];
  std::string out;
  std::snprintf(cell, sizeof cell, "%-*s", width, "model");
  out += cell;
  for (size_t i = 0; i < summary_columns().size(); ++i) {
    std::snprintf(cell, sizeof cell, "  %*s", widths[i], summary_columns()[i].name);
    out += cell;
  }
  out += "\n";
  size_t total = static_cast<size_t>(width);
  for (int w : widths) total += 2 + static_cast<size_t>(w);
  out += std::string(total, '-') + "\n";
  for (const auto& r : rows) {
    std::snprintf(cell, sizeof cell, "%-*s", width, r.model.c_str());
    out += cell;
    for (size_t i = 0; i < summary_columns().size(); ++i) {
      std::snprintf(cell, sizeof cell, "  %*s", widths[i],
                    summary_cell(r, summary_columns()[i]).c_str());
      out += cell;
    }
    out += "\n";
  }
  out +=
      "corr/other_RL: ROUGE-L recall on correlated / other retain questions; gap = other - corr "
      "(> 0: collateral damage on correlated facts); TR: truth ratio; Q: forget quality (KS "
      "p-value vs retain-only)\n";
  for (const auto& r : rows)
    if (!r.intervals.empty()) {
      out +=
          "[lo, hi]: 95% interval, two-level bootstrap over questions and seeds "
          "(aggregate.json)\n";
      break;
    }
  return out;
}

}  // namespace lethe::report
