// Evaluation during unlearning in the report: the forget / retain ROUGE-L curves of each method's
// run by step (the rows `lethe unlearn --eval-every` writes into metrics.jsonl) and the step each
// stop criterion was met. Not here: reading the files (results_reader.h), drawing (gnuplot.h).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "report/gnuplot.h"
#include "report/results_reader.h"

namespace lethe::report {

// One method's run, from its evaluation rows.
struct TrainingEvalSummary {
  std::string method;
  std::string stop_when;             // the criterion (sweep_results.json), "" when none
  std::optional<int64_t> stop_step;  // the first row with stop_met, unset when never met
  int64_t evaluations = 0;
  int64_t last_step = 0;  // the stop step, else the last evaluated step
  // ROUGE-L recall at last_step.
  std::optional<double> forget_rouge_l, retain_rouge_l;
};

// One per method of run.training_evals, in method order.
std::vector<TrainingEvalSummary> training_eval_summaries(const RunResults& run);

// "training_eval_curves": per method the forget ROUGE-L (solid) and retain ROUGE-L (dashed, same
// colour) by step; unset when no run evaluated during training.
std::optional<Chart> training_eval_chart(const RunResults& run);

}  // namespace lethe::report
