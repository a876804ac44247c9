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
  return down_proj(torch::silu(gate_proj(x)) * up_proj(x));
}

}  // namespace lethe::model
