// One pre-norm decoder block: x + attn(norm(x)), then x + mlp(norm(x)). Module names as HF
// checkpoints.
#pragma once
#include <torch/torch.h>

#include "model/attention.h"
#include "model/mlp.h"
#include "model/rms_norm.h"

namespace lethe::model {

class DecoderLayerImpl : public torch::nn::Module {
 public:
  DecoderLayerImpl(const ModelConfig& config, int64_t layer_index, bool init_weights);
  // hidden [B, T, C] -> [B, T, C]; see AttentionImpl::forward for the other arguments.
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& cos,
                        const torch::Tensor& sin, const torch::Tensor& mask, KVCache* cache);

  Attention self_attn{nullptr};
  Mlp mlp{nullptr};
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(DecoderLayer);

}  // namespace lethe::model
