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
};
TORCH_MODULE(Mlp);

}  // namespace lethe::model
