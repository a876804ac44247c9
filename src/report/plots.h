// The study's charts built from a run's results (issue 7): layer drift by epoch and by method,
// logit lens and linear-probe accuracy per layer, neuron-level change, the forget/retain trade-off,
// correlated vs other retain, quantization recovery, relearning, MIA ROC.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "report/gnuplot.h"
#include "report/results_reader.h"

namespace lethe::report {

// The charts whose data exist in `run` (a chart without data is listed in `skipped` with the
// reason).
std::vector<Chart> build_charts(const RunResults& run, std::vector<std::string>* skipped);

// The charts of a multi-seed aggregate (aggregate.json, report/aggregate.h), with their 95%
// intervals as bands: the drop of correlated and other retain ROUGE-L from the fine-tuned model by
// intensity, and the retain levels.
std::vector<Chart> build_aggregate_charts(const nlohmann::json& aggregate,
                                          std::vector<std::string>* skipped);

// ROC curve points (false positive rate, true positive rate) for scores where higher = member,
// from (0,0) to (1,1); ties are stepped together.
void roc_curve(const std::vector<double>& member_scores,
               const std::vector<double>& nonmember_scores, std::vector<double>* fpr,
               std::vector<double>* tpr);

// The unlearned models of a repr document (repr_results.json) in plot order: by method, then
// intensity (sweep_index.json epochs when known), then name.
std::vector<std::string> repr_model_order(const RunResults& run, const nlohmann::json& doc);

// Per-layer relative L2 drift of one repr_results model entry: (layer, drift) pairs, empty if none.
std::vector<std::pair<double, double>> layer_drift(const nlohmann::json& entry);

}  // namespace lethe::report
