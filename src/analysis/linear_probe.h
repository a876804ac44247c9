// A linear probe: multinomial logistic regression with L2 penalty, trained full-batch with L-BFGS
// in fp64 from zero weights on standardised features (deterministic). Shapes: N examples,
// C features, K classes.
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace lethe::analysis {

struct ProbeOptions {
  double l2 = 1e-3;         // lambda in mean CE + lambda/2 ||W||^2 (bias not penalised)
  int64_t max_iter = 200;   // L-BFGS iterations
  double tolerance = 1e-9;  // gradient / change tolerance
};

class LinearProbe {
 public:
  // features [N, C], labels [N] int64 in [0, classes). Throws on shape or label problems.
  void fit(const torch::Tensor& features, const torch::Tensor& labels, int64_t classes,
           const ProbeOptions& options = {});
  // [N, C] -> [N, K] logits / [N] predicted classes.
  torch::Tensor logits(const torch::Tensor& features) const;
  torch::Tensor predict(const torch::Tensor& features) const;
  // Fraction of rows predicted right (0 for an empty set).
  double accuracy(const torch::Tensor& features, const torch::Tensor& labels) const;
  bool fitted() const { return weight_.defined(); }

 private:
  torch::Tensor mean_, scale_;  // [C] standardisation from the training features
  torch::Tensor weight_;        // [K, C]
  torch::Tensor bias_;          // [K]
};

}  // namespace lethe::analysis
