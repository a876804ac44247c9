// SwiGLU MLP (Shazeer 2020).
#include "model/mlp.h"

namespace lethe::model {

MlpImpl::MlpImpl(const ModelConfig& config, bool init_weights) {
  const int64_t C = config.hidden_size, I = config.intermediate_size;
  gate_proj = register_module("gate_proj", LoraLinear(C, I, config.mlp_bias, init_weights));
  up_proj = register_module("up_proj", LoraLinear(C, I, config.mlp_bias, init_weights));
  down_proj = register_module("down_proj", LoraLinear(I, C, config.mlp_bias, init_weights));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  std::vector<torch::Tensor> gate_up = forward_shared_input(x, {gate_proj.get(), up_proj.get()});
  torch::Tensor neurons = torch::silu(gate_up[0]) * gate_up[1];  // [B, T, I]
  if (capture_neurons != nullptr) *capture_neurons = neurons;
  return down_proj(neurons);
}

}  // namespace lethe::model
