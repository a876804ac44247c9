// The SwiGLU feed-forward block of Qwen2 / Llama: down(silu(gate(x)) * up(x)), LoraLinear
// projections.
#pragma once
#include <torch/torch.h>

#include "model/lora_linear.h"
#include "model/model_config.h"

namespace lethe::model {

class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(const ModelConfig& config, bool init_weights);
  // [B, T, C] -> [B, T, C]
  torch::Tensor forward(const torch::Tensor& x);

  LoraLinear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
  // When set, forward stores here the neuron activations silu(gate(x)) * up(x) [B, T, I] (the
  // input of down_proj); analysis/mlp_activations.h sets and clears it. Unset: no extra work.
  torch::Tensor* capture_neurons = nullptr;
};
TORCH_MODULE(Mlp);

}  // namespace lethe::model
