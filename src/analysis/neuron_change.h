// Neuron-level change between two models: per MLP layer, the neurons whose mean activation moved
// most, how much of the total change the top 1% of neurons carry, and how far two sets of
// questions move the same neurons. Pure functions of pooled activations (mlp_activations.h).
// Shapes: L layers, I intermediate_size (neurons).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace lethe::analysis {

// k = max(1, ceil(1% of I)): the number of neurons in the "top 1%".
int64_t top_neuron_count(int64_t neurons);

struct LayerNeuronChange {
  std::vector<int64_t> top_neurons;  // up to k ids with |Δ| > 0, largest first (ties: lower id)
  std::vector<double> top_change;    // their |Δ|
  double total_change = 0;           // sum over every neuron of |Δ|
  double share_top = 0;              // sum of the top-k |Δ| / total_change; 0 when nothing moved
  std::vector<double> change;        // [I] |Δ| of every neuron
};

// |Δ| = |mean_a - mean_ref| per neuron; mean_a, mean_ref [L, I] -> one entry per layer.
std::vector<LayerNeuronChange> neuron_change(const torch::Tensor& mean_a,
                                             const torch::Tensor& mean_ref);

// The mean of change[id] over `ids` (another set's top neurons); nullopt when `ids` is empty.
// Compared with total_change / I, the expected mean at k neurons drawn at random.
std::optional<double> mean_change_at(const LayerNeuronChange& c, const std::vector<int64_t>& ids);

// |a ∩ b| / k: the share of the top-k neurons two changes have in common (chance: k / I).
double top_overlap(const std::vector<int64_t>& a, const std::vector<int64_t>& b, int64_t k);

}  // namespace lethe::analysis
