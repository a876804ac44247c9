// Decoder block of Qwen2 / Llama.
#include "model/decoder_layer.h"

namespace lethe::model {

DecoderLayerImpl::DecoderLayerImpl(const ModelConfig& config, int64_t layer_index,
                                   bool init_weights) {
  self_attn = register_module("self_attn", Attention(config, layer_index, init_weights));
  mlp = register_module("mlp", Mlp(config, init_weights));
  input_layernorm =
      register_module("input_layernorm", RMSNorm(config.hidden_size, config.rms_norm_eps));
  post_attention_layernorm =
      register_module("post_attention_layernorm", RMSNorm(config.hidden_size, config.rms_norm_eps));
}

torch::Tensor DecoderLayerImpl::forward(const torch::Tensor& hidden, const torch::Tensor& cos,
                                        const torch::Tensor& sin, const torch::Tensor& mask,
                                        KVCache* cache) {
  torch::Tensor h = hidden + self_attn(input_layernorm(hidden), cos, sin, mask, cache);
  return h + mlp(post_attention_layernorm(h));
}

}  // namespace lethe::model
