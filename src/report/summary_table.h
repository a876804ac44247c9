// The study's summary table, one row per model of eval_results.json: correlated and other retain
// ROUGE-L and their gap, forget ROUGE-L and truth ratio, forget quality, model utility. The one
// table behind the end of `lethe run`, `lethe report` and report.html / report.md; from a
// multi-seed aggregate (aggregate.json) each cell is a mean with its 95% interval.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "eval/bootstrap.h"
#include "report/results_reader.h"

namespace lethe::report {

struct SummaryRow {
  std::string model, method, intensity;  // method / intensity: known from a run folder only
  std::optional<double> retain_correlated, retain_other, retain_gap;  // ROUGE-L recall; gap = other
                                                                      // - correlated
  std::optional<double> forget_rouge_l, forget_truth_ratio, forget_quality, model_utility;
  std::map<std::string, eval::Interval> intervals;  // SummaryColumn::key -> interval (aggregates)
};

// One numeric column: its short name (text table), its header (HTML / Markdown) and the value.
struct SummaryColumn {
  const char* name;
  const char* header;
  std::optional<double> SummaryRow::*value;
  bool scientific;  // small values as 1.23e-05 (p-values)
  const char* key;  // the metric's key in aggregate.json (models.NAME.metrics.KEY)
};
const std::vector<SummaryColumn>& summary_columns();

// The row of one model from its aggregates (results_schema.h); a missing value stays empty and
// the gap is other - correlated when the file has none.
SummaryRow summary_row(const std::string& model, const nlohmann::json& aggregates);

// One row per model of an eval_results.json document, in file order (method left empty).
std::vector<SummaryRow> summary_rows(const nlohmann::json& eval_results);
// The same for a run folder, with each model's method and intensity.
std::vector<SummaryRow> summary_rows(const RunResults& run);

// The rows of an aggregate.json document: each value the mean over seeds, with its interval.
std::vector<SummaryRow> summary_rows_from_aggregate(const nlohmann::json& aggregate);

// A cell: "%.3f", or "%.2e" for a small value of a scientific column; "-" when absent; followed by
// " [lo, hi]" when the row has the column's interval.
std::string summary_cell(const SummaryRow& row, const SummaryColumn& column);

// The table as aligned plain text with a legend line (what `lethe run` and `lethe report` print).
std::string summary_text(const std::vector<SummaryRow>& rows);

}  // namespace lethe::report
