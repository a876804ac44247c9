// Records the MLP neuron activations of every decoder layer during forward passes (the SwiGLU
// product silu(gate(x)) * up(x), the input of down_proj) and sums them over selected positions.
// It changes no weights and no outputs. Shapes: B batch, T tokens, I intermediate_size, L layers.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <vector>

#include "model/causal_lm.h"
#include "model/mlp.h"

namespace lethe::analysis {

// Attached to every layer's MLP for its lifetime; one recorder per model at a time.
class MlpActivationRecorder {
 public:
  explicit MlpActivationRecorder(model::CausalLM& model);
  ~MlpActivationRecorder();
  MlpActivationRecorder(const MlpActivationRecorder&) = delete;
  MlpActivationRecorder& operator=(const MlpActivationRecorder&) = delete;

  // The last forward's activations, L tensors [B, T, I] in the model dtype (undefined before).
  const std::vector<torch::Tensor>& activations() const { return activations_; }

  // Per row, the activations summed over the positions where `positions` [B, T] is non-zero
  // -> [B, L, I] fp32 on the CPU.
  torch::Tensor sum_over(const torch::Tensor& positions) const;

 private:
  std::vector<std::shared_ptr<model::MlpImpl>> mlps_;
  std::vector<torch::Tensor> activations_;  // sized once: the MLPs hold pointers into it
};

}  // namespace lethe::analysis
