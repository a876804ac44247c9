// The report's neuron-level table: per unlearned model of repr_results.json, how concentrated the
// forget-question MLP neuron change is and how far correlated / other retain questions move the
// same neurons (analysis/neuron_change.h). Not here: the per-layer charts (plots.cpp).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "report/results_reader.h"

namespace lethe::report {

// One model, at its last MLP layer (where the output is read) and averaged over the layers.
struct NeuronRow {
  std::string model;
  std::optional<double> share_last, share_mean;  // forget: share of sum |Δ| in the top 1%
  std::optional<double> overlap_correlated, overlap_other;  // last layer, |top ∩ top_forget| / k
  // Last layer: the retain set's |Δ| at the forget top neurons / its mean |Δ| (random neurons).
  std::optional<double> ratio_correlated, ratio_other;
  std::vector<int64_t> top_forget;  // last layer, at most 5 ids
};

struct NeuronTable {
  std::vector<NeuronRow> rows;  // in plot order (repr_model_order)
  int64_t top_k = 0, intermediate_size = 0, layers = 0;
  std::optional<double> chance;  // k / I
};

// Empty rows when no model of run.repr has a "neurons" section.
NeuronTable neuron_table(const RunResults& run);

}  // namespace lethe::report
