// Rotary position embeddings (Su et al. 2021) in HF's rotate-half layout, with the "linear" and
// "llama3" rope_scaling variants. Shapes: B batch, T tokens, H heads, D head dim.
#pragma once
#include <torch/torch.h>

#include <utility>

#include "model/model_config.h"

namespace lethe::model {

// inv_freq [D/2] fp32 = 1 / theta^(2i/D), rescaled per config.rope_scaling.
torch::Tensor rope_inv_freq(const ModelConfig& config, torch::Device device);

// positions [B, T] int64 -> {cos, sin} each [B, T, D] in `dtype` (angles computed in fp32).
std::pair<torch::Tensor, torch::Tensor> rope_cos_sin(const torch::Tensor& inv_freq,
                                                     const torch::Tensor& positions,
                                                     torch::ScalarType dtype);

// x [B, H, T, D], cos/sin [B, T, D] -> x * cos + rotate_half(x) * sin
torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos,
                         const torch::Tensor& sin);

}  // namespace lethe::model
