// Per-layer representation drift between two models on the same inputs: relative L2 distance and
// cosine similarity of hidden states, averaged over selected positions (e.g. answer tokens).
// Shapes: B batch, T tokens, C hidden, L layers (L+1 hidden-state entries as HF).
#pragma once
#include <torch/torch.h>

#include <vector>

namespace lethe::analysis {

// Per position p selected by `mask` and per layer l:
//   drift = ||h_a[l, p] - h_ref[l, p]|| / ||h_ref[l, p]||,  cos = <h_a, h_ref> / (||h_a||
//   ||h_ref||)
// hidden_a, hidden_ref: L+1 tensors [B, T, C]; mask [B, T] (non-zero = include)
// -> drift [L+1, N] and cos [L+1, N] in fp64, N = number of selected positions.
struct PositionDrift {
  torch::Tensor drift;   // [L+1, N]
  torch::Tensor cosine;  // [L+1, N]
};
PositionDrift hidden_drift(const std::vector<torch::Tensor>& hidden_a,
                           const std::vector<torch::Tensor>& hidden_ref, const torch::Tensor& mask);

// Accumulates the per-position values of many batches into per-layer means.
class DriftAccumulator {
 public:
  void add(const PositionDrift& d);
  // Means over every added position; [L+1] each (empty when nothing was added).
  std::vector<double> mean_drift() const;
  std::vector<double> mean_cosine() const;
  int64_t positions() const { return count_; }

 private:
  torch::Tensor sum_drift_, sum_cos_;  // [L+1] fp64
  int64_t count_ = 0;
};

}  // namespace lethe::analysis
